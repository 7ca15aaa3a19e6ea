//! Other shards' actions, modelled (`--shard I/N`). This shard sends none of them, but its
//! consoles receive what they cause: at each one's intended time the state follows it as if
//! it succeeded, and the deliveries it should cause at this shard's consoles are expected.
//! What a console here receives of another shard's call start teaches the call's id, so its
//! end can be expected too.

use super::{Call, Effects, Term, World};
use crate::engine::deliveries::Key;
use crate::engine::outcome::Delivery;
use crate::schedule::{Action, ActionKind};
use rcload_api::CallKind;

impl World {
    /// The shard this process runs ([`crate::schedule::Shard::WHOLE`] unless sharded).
    pub fn shard(&self) -> crate::schedule::Shard {
        self.shard
    }

    /// Follow another shard's `action` at its intended time: no request, only the state and
    /// the deliveries it should cause at this shard's consoles. Other shards' console actions
    /// change nothing here (their consoles never receive in this process).
    pub fn shadow(&mut self, action: &Action, fx: &mut Effects) {
        match &action.kind {
            ActionKind::Login { .. } | ActionKind::Logout { .. } | ActionKind::Audit { .. } => {}
            ActionKind::Register {
                terminal,
                talkgroup,
            } => {
                if self.term(*terminal) != Term::Off {
                    return;
                }
                self.terminals[*terminal as usize] = Term::On {
                    talkgroup: *talkgroup,
                };
                let key = Key::Registered(self.pop.issi(*terminal));
                let event = Delivery::TerminalRegistered;
                self.expect_delivery(key, event, action, *talkgroup, fx);
            }
            ActionKind::Deregister { terminal } => {
                let Term::On { talkgroup } = self.term(*terminal) else {
                    return;
                };
                self.terminals[*terminal as usize] = Term::Off;
                let key = Key::Deregistered(self.pop.issi(*terminal));
                let event = Delivery::TerminalDeregistered;
                self.expect_delivery(key, event, action, talkgroup, fx);
            }
            ActionKind::Affiliate {
                terminal,
                talkgroup,
            } => {
                if let Term::On { .. } = self.term(*terminal) {
                    self.terminals[*terminal as usize] = Term::On {
                        talkgroup: *talkgroup,
                    };
                }
            }
            ActionKind::Status { terminal, .. } => {
                if let Term::On { talkgroup } = self.term(*terminal) {
                    let key = Key::Ref(action.seq);
                    self.expect_delivery(key, Delivery::Status, action, talkgroup, fx);
                }
            }
            ActionKind::CallStart {
                call,
                kind,
                talkgroup,
                ..
            } => {
                let id = self.deliveries.take_call(action.seq);
                self.calls.insert(
                    *call,
                    Call::Foreign {
                        seq: action.seq,
                        talkgroup: *talkgroup,
                        id,
                    },
                );
                self.foreign_calls.insert(action.seq, *call);
                let event = match kind {
                    CallKind::Group => Delivery::CallStarted,
                    CallKind::Emergency => Delivery::EmergencyAlert,
                };
                self.expect_delivery(Key::Ref(action.seq), event, action, *talkgroup, fx);
            }
            ActionKind::CallEnd { call, .. } => {
                let Some(Call::Foreign { seq, talkgroup, id }) = self.calls.remove(call) else {
                    return;
                };
                self.foreign_calls.remove(&seq);
                // No console here saw it start: its id is unknown, and so is its end.
                if let Some(id) = id {
                    let key = Key::Ended(id);
                    self.expect_delivery(key, Delivery::CallEnded, action, talkgroup, fx);
                }
            }
        }
    }

    /// A console here saw call `id` start, sent with reference `seq`: if it is another
    /// shard's call, remember its id for its end.
    pub fn learn_call(&mut self, seq: u64, id: &str, at_us: u64) {
        let Some(call) = self.foreign_calls.get(&seq) else {
            // Perhaps another shard's call this shard has not reached yet (its clock runs a
            // little behind): keep the id for a while.
            if !self.shard.is_whole() {
                self.deliveries.note_call(seq, id, at_us);
            }
            return;
        };
        if let Some(Call::Foreign { id: known, .. }) = self.calls.get_mut(call)
            && known.is_none()
        {
            *known = Some(id.to_string());
        }
    }

    /// Is terminal `t` this shard's own (not only modelled)?
    pub(super) fn own_terminal(&self, t: u32) -> bool {
        self.shard.owns_terminal(t)
    }
}
