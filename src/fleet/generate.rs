//! `rcload fleet generate`: a fleet map from a few figures, with the skew real fleets have:
//! rooms of uneven size, talkgroup popularity after a Zipf-like law (a few talkgroups carry
//! most terminals), and monitored sets that overlap (popular talkgroups are on many consoles,
//! and every console also watches a shared national talkgroup). Deterministic: the same
//! figures and seed give the same fleet on any machine.

use super::{Console, Fleet, Talkgroup, Terminal};
use crate::ids::{FIRST_GSSI, FIRST_ISSI};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The figures of a fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub rooms: u32,
    pub consoles: u32,
    pub terminals: u32,
    pub talkgroups: u32,
    /// Discipline names and their shares of consoles and terminals.
    pub disciplines: Vec<(String, f64)>,
    /// Talkgroups each console monitors (fewer in a room that has fewer).
    pub monitored: u32,
    pub seed: u64,
}

impl Figures {
    /// C2000 as ../shared/DOMAIN.md gives it: 13 control rooms, about 2,200 dispatchers,
    /// 80,000 handsets, 11,000 talkgroups; police, fire, ambulance and defence (shares
    /// assumed: the split is not public).
    pub fn c2000() -> Self {
        Figures {
            rooms: 13,
            consoles: 2200,
            terminals: 80_000,
            talkgroups: 11_000,
            disciplines: vec![
                ("police".into(), 0.45),
                ("fire".into(), 0.25),
                ("ambulance".into(), 0.25),
                ("defence".into(), 0.05),
            ],
            monitored: 12,
            seed: 2023,
        }
    }

    /// What is wrong with the figures, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.rooms == 0 || self.rooms > 10_000 {
            return Err("--rooms: 1 to 10000".into());
        }
        if self.consoles < self.rooms {
            return Err(format!(
                "--consoles: at least one per room ({})",
                self.rooms
            ));
        }
        if self.talkgroups < self.rooms + 1 {
            return Err(format!(
                "--talkgroups: at least one per room and one shared ({})",
                self.rooms + 1
            ));
        }
        if u64::from(FIRST_ISSI) + u64::from(self.terminals) > 16_777_215
            || u64::from(FIRST_GSSI) + u64::from(self.talkgroups) > u64::from(FIRST_ISSI)
        {
            return Err("too many terminals or talkgroups for 24-bit ids".into());
        }
        if self
            .disciplines
            .iter()
            .any(|(_, s)| !s.is_finite() || *s <= 0.0)
        {
            return Err("--disciplines: each share must be more than 0".into());
        }
        Ok(())
    }
}

/// Three rooms, 20 consoles, 500 terminals, 40 talkgroups, police and fire: a fleet for
/// unit tests.
#[cfg(test)]
pub(crate) fn tiny() -> Figures {
    Figures {
        rooms: 3,
        consoles: 20,
        terminals: 500,
        talkgroups: 40,
        disciplines: vec![("police".into(), 0.6), ("fire".into(), 0.4)],
        monitored: 4,
        seed: 11,
    }
}

/// Split `total` into parts proportional to `weights`, each at least `floor`, summing to
/// `total` exactly (largest remainders).
fn apportion(total: u32, weights: &[f64], floor: u32) -> Vec<u32> {
    let n = weights.len() as u32;
    let spare = total.saturating_sub(floor * n);
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| f64::from(spare) * w / sum).collect();
    let mut parts: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
    let mut left = spare - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| {
        let (fa, fb) = (exact[*a].fract(), exact[*b].fract());
        fb.total_cmp(&fa).then(a.cmp(b))
    });
    for i in order {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.iter().map(|p| p + floor).collect()
}

/// Zipf-like weights 1/k^s for k = 1..=n.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    (1..=n).map(|k| 1.0 / (k as f64).powf(s)).collect()
}

/// An index drawn with probability proportional to `cumulative` (a running sum).
fn draw(rng: &mut Xoshiro256PlusPlus, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= x)
        .min(cumulative.len() - 1)
}

fn running(weights: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// The fleet the figures describe.
pub fn generate(f: &Figures) -> Fleet {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(f.seed ^ 0xF1EE7);
    let rooms = f.rooms as usize;
    // Uneven rooms: weights falling with rank (the largest about 3x the median), in an order
    // shuffled by seed so that room01 is not always the largest.
    let mut room_weights = zipf(rooms, 0.6);
    for i in (1..rooms).rev() {
        let j = rng.random_range(0..=i);
        room_weights.swap(i, j);
    }
    let consoles_per_room = apportion(f.consoles, &room_weights, 1);
    // Talkgroups: a tenth shared (national), the rest split as the rooms are.
    let shared = (f.talkgroups / 10).max(1);
    let tg_per_room = apportion(f.talkgroups - shared, &room_weights, 1);
    let disc_shares: Vec<f64> = f.disciplines.iter().map(|(_, s)| *s).collect();
    let disc_cum = running(&disc_shares);
    let pick_discipline = |rng: &mut Xoshiro256PlusPlus| -> Option<u16> {
        (!disc_cum.is_empty()).then(|| draw(rng, &disc_cum) as u16)
    };

    let mut talkgroups = Vec::with_capacity(f.talkgroups as usize);
    let mut room_tgs: Vec<Vec<u32>> = Vec::with_capacity(rooms);
    for (r, n) in tg_per_room.iter().enumerate() {
        let mut own = Vec::with_capacity(*n as usize);
        for k in 0..*n {
            let gssi = FIRST_GSSI + talkgroups.len() as u32;
            talkgroups.push(Talkgroup {
                gssi,
                name: format!("room{:02}-tg{:04}", r + 1, k + 1),
                room: Some(r as u32),
            });
            own.push(gssi);
        }
        room_tgs.push(own);
    }
    let shared_tgs: Vec<u32> = (0..shared)
        .map(|k| {
            let gssi = FIRST_GSSI + talkgroups.len() as u32;
            talkgroups.push(Talkgroup {
                gssi,
                name: format!("national-{:04}", k + 1),
                room: None,
            });
            gssi
        })
        .collect();

    // Consoles: each monitors the room's most popular talkgroups in a window that slides with
    // the console (so neighbours overlap), plus one shared talkgroup.
    let mut consoles = Vec::with_capacity(f.consoles as usize);
    for (r, n) in consoles_per_room.iter().enumerate() {
        let own = &room_tgs[r];
        let m = (f.monitored.max(1) as usize).min(own.len());
        let popular = zipf(own.len(), 1.0);
        let cum = running(&popular);
        for k in 0..*n {
            let mut monitors = Vec::with_capacity(m + 1);
            // The room's top talkgroups are on most consoles; the rest of each set is drawn
            // by popularity.
            let top = m / 2;
            monitors.extend(own.iter().take(top));
            let mut guard = 0;
            while monitors.len() < m && guard < 50 * m {
                let g = own[draw(&mut rng, &cum)];
                if !monitors.contains(&g) {
                    monitors.push(g);
                }
                guard += 1;
            }
            monitors.push(shared_tgs[(k as usize + r) % shared_tgs.len()]);
            consoles.push(Console {
                id: format!("room{:02}-c{:03}", r + 1, k + 1),
                room: r as u32,
                discipline: pick_discipline(&mut rng),
                monitors,
            });
        }
    }

    // Terminals: rooms by size, home talkgroups by popularity (one in twenty on a shared one).
    let room_cum = running(&room_weights);
    let own_cums: Vec<Vec<f64>> = room_tgs
        .iter()
        .map(|own| running(&zipf(own.len(), 1.0)))
        .collect();
    let shared_cum = running(&zipf(shared_tgs.len(), 1.0));
    let terminals = (0..f.terminals)
        .map(|i| {
            let home = if rng.random::<f64>() < 0.05 {
                shared_tgs[draw(&mut rng, &shared_cum)]
            } else {
                let r = draw(&mut rng, &room_cum);
                room_tgs[r][draw(&mut rng, &own_cums[r])]
            };
            Terminal {
                issi: FIRST_ISSI + i,
                home,
                discipline: pick_discipline(&mut rng),
            }
        })
        .collect();
    Fleet {
        name: format!(
            "generated: {} rooms, {} consoles, {} terminals, {} talkgroups (seed {})",
            f.rooms, f.consoles, f.terminals, f.talkgroups, f.seed
        ),
        disciplines: f.disciplines.iter().map(|(d, _)| d.clone()).collect(),
        rooms: (1..=f.rooms).map(|r| format!("room{r:02}")).collect(),
        consoles,
        talkgroups,
        terminals,
    }
}

/// Write `fleet` as `fleet.yaml` and its three CSV files in `dir`; the paths written.
pub fn write(fleet: &Fleet, dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir)?;
    let mut yaml = String::new();
    let _ = writeln!(yaml, "# An rcload fleet map (docs/fleet.md).");
    let _ = writeln!(yaml, "name: \"{}\"", fleet.name.replace('"', "'"));
    let _ = writeln!(yaml, "disciplines: [{}]", fleet.disciplines.join(", "));
    let _ = writeln!(yaml, "rooms: [{}]", fleet.rooms.join(", "));
    let _ = writeln!(yaml, "consoles: consoles.csv");
    let _ = writeln!(yaml, "talkgroups: talkgroups.csv");
    let _ = writeln!(yaml, "terminals: terminals.csv");
    let disc = |d: Option<u16>| {
        d.and_then(|d| fleet.disciplines.get(d as usize))
            .cloned()
            .unwrap_or_default()
    };
    let mut consoles = String::from("console,room,discipline,monitors\n");
    for c in &fleet.consoles {
        let m: Vec<String> = c.monitors.iter().map(u32::to_string).collect();
        let _ = writeln!(
            consoles,
            "{},{},{},{}",
            c.id,
            fleet.rooms[c.room as usize],
            disc(c.discipline),
            m.join(" ")
        );
    }
    let mut talkgroups = String::from("gssi,name,room\n");
    for t in &fleet.talkgroups {
        let room = t
            .room
            .map(|r| fleet.rooms[r as usize].clone())
            .unwrap_or_default();
        let _ = writeln!(talkgroups, "{},{},{room}", t.gssi, t.name);
    }
    let mut terminals = String::with_capacity(fleet.terminals.len() * 24);
    terminals.push_str("issi,home,discipline\n");
    for t in &fleet.terminals {
        let _ = writeln!(terminals, "{},{},{}", t.issi, t.home, disc(t.discipline));
    }
    let mut written = Vec::new();
    for (name, text) in [
        ("fleet.yaml", yaml),
        ("consoles.csv", consoles),
        ("talkgroups.csv", talkgroups),
        ("terminals.csv", terminals),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text)?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Figures {
        Figures {
            rooms: 5,
            consoles: 100,
            terminals: 5000,
            talkgroups: 200,
            disciplines: vec![("police".into(), 0.6), ("fire".into(), 0.4)],
            monitored: 6,
            seed: 7,
        }
    }

    #[test]
    fn parts_add_up_and_rooms_are_uneven() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0], 1), [4, 3, 3]);
        let f = generate(&small());
        assert_eq!(f.consoles.len(), 100);
        assert_eq!(f.terminals.len(), 5000);
        assert_eq!(f.talkgroups.len(), 200);
        let mut sizes = vec![0u32; 5];
        for c in &f.consoles {
            sizes[c.room as usize] += 1;
        }
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max >= &(min * 2), "rooms alike: {sizes:?}");
    }

    #[test]
    fn popularity_is_skewed_and_sets_overlap() {
        let f = generate(&small());
        let mut homes = std::collections::HashMap::new();
        for t in &f.terminals {
            *homes.entry(t.home).or_insert(0u32) += 1;
        }
        let mut counts: Vec<u32> = homes.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top_tenth: u32 = counts.iter().take(counts.len() / 10).sum();
        assert!(
            top_tenth * 3 > 5000,
            "the top tenth carries {top_tenth} of 5000"
        );
        // Two consoles of one room share talkgroups.
        let (a, b) = (&f.consoles[0], &f.consoles[1]);
        assert!(a.monitors.iter().any(|g| b.monitors.contains(g)));
    }

    #[test]
    fn the_same_figures_give_the_same_fleet_and_it_loads_back() {
        assert_eq!(generate(&small()), generate(&small()));
        let dir = std::env::temp_dir().join(format!("rcload-fleet-gen-{}", std::process::id()));
        write(&generate(&small()), &dir).expect("written");
        let back = super::super::load(&dir.join("fleet.yaml")).expect("loads");
        let mut want = generate(&small());
        want.name = back.name.clone();
        assert_eq!(back, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
