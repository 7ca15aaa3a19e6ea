//! The mapping file's format (`--adapter FILE`, `docs/adapters.md`): how each rcload action
//! becomes a request to the system under test, and how the system's messages become rcload
//! events. Parsed with serde-saphyr and checked here; every problem names its field, and the
//! loader turns that into a file, line and column like a profile's.
//!
//! It holds no secrets: credentials are named by environment variable only.

use crate::profile::{FieldPath, Problem};
use rcload_api::{Dur, Op};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The format id every mapping file starts with.
pub const ADAPTER_SCHEMA: &str = "rcload.adapter/1";

/// The actions a mapping maps, by their rcload name: every operation but the target's own
/// token fetches.
pub fn actions() -> Vec<&'static str> {
    rcload_api::Op::ALL
        .iter()
        .filter(|o| **o != rcload_api::Op::AuthToken)
        .map(|o| o.name())
        .collect()
}

/// Actions without which consoles cannot work: they cannot be marked unsupported.
pub const REQUIRED: [Op; 2] = [Op::ConsoleLogin, Op::ConsoleAttach];

/// rcload's event types, the values of `events.types`.
pub const EVENT_TYPES: &[&str] = &[
    "talkgroup.attached",
    "talkgroup.dropped",
    "call.started",
    "emergency.alert",
    "call.ended",
    "status",
    "terminal.registered",
    "terminal.deregistered",
    "console.kicked",
];

/// rcload's error codes (`docs/api.md`) that change what it does: the values of
/// `errors.codes`.
pub const ERROR_CODES: &[&str] = &[
    "not_logged_in",
    "already_logged_in",
    "not_registered",
    "not_found",
    "bad_request",
    "unauthorized",
    "overloaded",
    "internal",
];

/// A mapping file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterFile {
    /// Must be [`ADAPTER_SCHEMA`].
    pub adapter: String,
    /// A short name for results (`vendor-x`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The request that tells whether the system is there (default `GET /healthz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSpec>,
    #[serde(default)]
    pub auth: AuthSpec,
    /// Headers sent with every request (static text).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub errors: ErrorSpec,
    pub actions: BTreeMap<String, ActionSpec>,
    pub events: EventsSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    /// Status codes that mean healthy (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<u16>>,
}

fn get() -> String {
    "GET".into()
}

/// How requests authenticate. Secrets come from environment variables, never from the file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum AuthSpec {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        token_env: String,
        /// When the variable is unset, send no token instead of refusing to start.
        #[serde(default)]
        optional: bool,
    },
    /// HTTP basic.
    Basic {
        username_env: String,
        password_env: String,
    },
    /// An API key in a header of its own.
    Header { name: String, value_env: String },
    /// OAuth2 client credentials.
    Oauth2 {
        /// The token endpoint: a path on the target or an absolute URL.
        token_url: String,
        client_id_env: String,
        client_secret_env: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// `basic` (default) or `body`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_auth: Option<String>,
        /// Refresh this long before expiry (default: a fifth of the lifetime, at most 60 s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_before: Option<Dur>,
    },
}

/// How the system's error answers read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// JSON pointer to the system's error code in an error answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// JSON pointer to the error's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The system's error codes and what they mean to rcload ([`ERROR_CODES`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, String>,
}

/// One action's request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The system does not offer this action: rcload skips it and says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsupported: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path template (on the target's base URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Body template (sent as JSON unless a `content-type` header says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Status codes that mean success (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<u16>>,
    /// Values to keep from the answer: name -> JSON pointer. Console actions keep them per
    /// console, terminal actions per terminal, call starts per call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
    /// `console.attach` / `console.audit`: JSON pointer to the talkgroups the console now
    /// monitors (`*` steps into every element of a list: `/groups/*/gssi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroups: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Sse,
    Websocket,
    Poll,
}

/// How events match what rcload sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Matching {
    /// The system echoes rcload's `ref`.
    Reference,
    /// It does not: match by kind, talkgroup and caller within a window.
    Correlate,
}

/// Pointers to an event's fields within a message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkgroup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The server's time stamp, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time_ms: Option<String>,
}

/// The event channel and how its messages read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSpec {
    pub transport: Transport,
    /// URL template per console: a path on the target, or an absolute `ws(s)://`/`http(s)://`.
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `poll`: time between polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Dur>,
    /// `poll`: JSON pointer to the list of messages in an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// `poll`: JSON pointer to the cursor in an answer; the URL template gets it as `cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// JSON pointer to a message's type name (`sse` may use `event`: the SSE event name).
    #[serde(rename = "type")]
    pub type_field: String,
    #[serde(default)]
    pub fields: FieldsSpec,
    /// The system's type names -> rcload's event types ([`EVENT_TYPES`]). Messages of other
    /// types are ignored.
    pub types: BTreeMap<String, String>,
    /// `reference` or `correlate`.
    pub matching: Matching,
    /// `correlate`: how long after its request an event may still match it (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Dur>,
}

/// Which stored values an action's templates may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Console,
    Terminal,
    Call,
}

/// The scope an action's captures are kept in.
pub fn scope_of(action: &str) -> Scope {
    if action.starts_with("console.") {
        Scope::Console
    } else if action.starts_with("terminal.") {
        Scope::Terminal
    } else {
        Scope::Call
    }
}

/// The variables rcload gives an action's templates (besides captures).
pub fn variables_of(action: &str) -> &'static [&'static str] {
    let Some(op) = Op::from_name(action) else {
        return &[];
    };
    match op {
        Op::ConsoleLogin => &["console", "operator"],
        Op::ConsoleLogout | Op::ConsoleAudit => &["console"],
        Op::ConsoleAttach => &["console", "talkgroups"],
        Op::TerminalRegister | Op::TerminalAffiliate => &["issi", "talkgroup"],
        Op::TerminalDeregister => &["issi"],
        Op::TerminalStatus => &["issi", "talkgroup", "code", "ref"],
        Op::CallGroup | Op::CallEmergency => &["talkgroup", "issi", "caller", "kind", "ref"],
        Op::CallEnd => &["call", "talkgroup", "issi", "caller", "kind", "ref"],
        Op::AuthToken | Op::ConsoleEvents => &[],
    }
}

/// Fields each rcload event type needs from a message.
pub fn needed_fields(event: &str, matching: Matching) -> Vec<&'static str> {
    let by_ref = |f: &mut Vec<&'static str>| match matching {
        Matching::Reference => f.push("ref"),
        Matching::Correlate => {}
    };
    let mut f = Vec::new();
    match event {
        "talkgroup.attached" | "talkgroup.dropped" => f.push("talkgroup"),
        "call.started" | "emergency.alert" => {
            f.extend(["talkgroup", "caller"]);
            by_ref(&mut f);
        }
        "call.ended" => f.extend(["call"]),
        "status" => {
            f.extend(["issi", "talkgroup"]);
            by_ref(&mut f);
        }
        "terminal.registered" | "terminal.deregistered" => f.push("issi"),
        _ => {}
    }
    f
}

impl FieldsSpec {
    pub fn get(&self, name: &str) -> Option<&String> {
        match name {
            "talkgroup" => self.talkgroup.as_ref(),
            "issi" => self.issi.as_ref(),
            "caller" => self.caller.as_ref(),
            "call" => self.call.as_ref(),
            "ref" => self.reference.as_ref(),
            "code" => self.code.as_ref(),
            "reason" => self.reason.as_ref(),
            "server_time_ms" => self.server_time_ms.as_ref(),
            _ => None,
        }
    }

    fn all(&self) -> Vec<(&'static str, &String)> {
        [
            "talkgroup",
            "issi",
            "caller",
            "call",
            "ref",
            "code",
            "reason",
            "server_time_ms",
        ]
        .into_iter()
        .filter_map(|n| self.get(n).map(|p| (n, p)))
        .collect()
    }
}

fn problem(path: FieldPath, message: impl Into<String>, hint: Option<&str>) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

/// Is `p` a JSON pointer (`""`, or `/a/b`, `*` allowed as a step where `wildcard`)?
pub fn check_pointer(p: &str, wildcard: bool) -> Result<(), String> {
    if !(p.is_empty() || p.starts_with('/')) {
        return Err(format!(
            "`{p}` is not a JSON pointer; write it like `/session` or `/data/id`"
        ));
    }
    if !wildcard && p.split('/').any(|s| s == "*") {
        return Err(format!(
            "`{p}`: `*` is allowed only in `talkgroups` and `items`"
        ));
    }
    Ok(())
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn is_url_or_path(t: &str, schemes: &[&str]) -> bool {
    t.starts_with('/') || schemes.iter().any(|s| t.starts_with(s))
}

/// Problems of the file that do not need templates compiled (those are checked when the
/// mapping is built). Empty when it is fine.
pub fn check(f: &AdapterFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let root = FieldPath::root();
    if f.adapter != ADAPTER_SCHEMA {
        out.push(problem(
            root.clone().key("adapter"),
            format!("must be `{ADAPTER_SCHEMA}`, got `{}`", f.adapter),
            None,
        ));
    }
    if f.name.trim().is_empty() {
        out.push(problem(root.clone().key("name"), "must not be empty", None));
    }
    if let Some(h) = &f.health {
        let p = root.clone().key("health");
        if !METHODS.contains(&h.method.as_str()) {
            out.push(problem(
                p.clone().key("method"),
                format!("`{}` is not one of {}", h.method, METHODS.join(", ")),
                None,
            ));
        }
        if !h.path.starts_with('/') {
            out.push(problem(p.key("path"), "must start with `/`", None));
        }
    }
    check_auth(&f.auth, &mut out);
    let e = root.clone().key("errors");
    for (k, ptr) in [("code", &f.errors.code), ("message", &f.errors.message)] {
        if let Some(ptr) = ptr
            && let Err(m) = check_pointer(ptr, false)
        {
            out.push(problem(e.clone().key(k), m, None));
        }
    }
    for (k, v) in &f.errors.codes {
        if !ERROR_CODES.contains(&v.as_str()) {
            out.push(problem(
                e.clone().key("codes").key(k),
                format!(
                    "`{v}` is not one of rcload's codes: {}",
                    ERROR_CODES.join(", ")
                ),
                None,
            ));
        }
    }
    let a = root.clone().key("actions");
    let all = actions();
    for name in f.actions.keys() {
        if !all.contains(&name.as_str()) {
            out.push(problem(
                a.clone().key(name),
                format!("`{name}` is not an rcload action"),
                Some(&format!("actions are {}", all.join(", "))),
            ));
        }
    }
    for name in &all {
        let p = a.clone().key(name);
        let Some(spec) = f.actions.get(*name) else {
            out.push(problem(
                a.clone(),
                format!("`{name}` is not mapped"),
                Some(
                    "map it, or write `unsupported: true` under it if the system does not offer it",
                ),
            ));
            continue;
        };
        check_action(name, spec, &p, &mut out);
    }
    check_events(&f.events, &root.key("events"), &mut out);
    out
}

fn check_auth(auth: &AuthSpec, out: &mut Vec<Problem>) {
    let p = FieldPath::root().key("auth");
    let env_ok = |name: &str| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let names: Vec<(&str, &String)> = match auth {
        AuthSpec::None => vec![],
        AuthSpec::Bearer { token_env, .. } => vec![("token_env", token_env)],
        AuthSpec::Basic {
            username_env,
            password_env,
        } => vec![
            ("username_env", username_env),
            ("password_env", password_env),
        ],
        AuthSpec::Header { name, value_env } => {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                out.push(problem(
                    p.clone().key("name"),
                    format!("`{name}` is not a valid header name"),
                    None,
                ));
            }
            vec![("value_env", value_env)]
        }
        AuthSpec::Oauth2 {
            token_url,
            client_id_env,
            client_secret_env,
            client_auth,
            ..
        } => {
            if !is_url_or_path(token_url, &["http://", "https://"]) {
                out.push(problem(
                    p.clone().key("token_url"),
                    "must be a path on the target (`/oauth2/token`) or an http(s):// URL",
                    None,
                ));
            }
            if let Some(c) = client_auth
                && c != "basic"
                && c != "body"
            {
                out.push(problem(
                    p.clone().key("client_auth"),
                    format!("`{c}` is not `basic` or `body`"),
                    None,
                ));
            }
            vec![
                ("client_id_env", client_id_env),
                ("client_secret_env", client_secret_env),
            ]
        }
    };
    for (k, v) in names {
        if !env_ok(v) {
            out.push(problem(
                p.clone().key(k),
                format!("`{v}` is not an environment variable name"),
                Some("secrets are never written in a mapping file: name the variable that holds them"),
            ));
        }
    }
}

fn check_action(name: &str, spec: &ActionSpec, p: &FieldPath, out: &mut Vec<Problem>) {
    if spec.unsupported {
        if Op::from_name(name).is_some_and(|op| REQUIRED.contains(&op)) {
            out.push(problem(
                p.clone().key("unsupported"),
                format!("`{name}` cannot be unsupported: consoles need it"),
                None,
            ));
        }
        return;
    }
    match &spec.method {
        None => out.push(problem(p.clone(), "`method` is missing", None)),
        Some(m) if !METHODS.contains(&m.as_str()) => out.push(problem(
            p.clone().key("method"),
            format!("`{m}` is not one of {}", METHODS.join(", ")),
            None,
        )),
        Some(_) => {}
    }
    match &spec.path {
        None => out.push(problem(p.clone(), "`path` is missing", None)),
        Some(t) if !t.starts_with('/') => out.push(problem(
            p.clone().key("path"),
            "must start with `/` (it is joined to the target's URL)",
            None,
        )),
        Some(_) => {}
    }
    if let Some(s) = &spec.success
        && (s.is_empty() || s.iter().any(|c| !(100..=599).contains(c)))
    {
        out.push(problem(
            p.clone().key("success"),
            "must list HTTP status codes (100 to 599)",
            None,
        ));
    }
    for (k, ptr) in &spec.capture {
        if let Err(m) = check_pointer(ptr, false) {
            out.push(problem(p.clone().key("capture").key(k), m, None));
        }
        if variables_of(name).contains(&k.as_str()) && k != "call" {
            out.push(problem(
                p.clone().key("capture").key(k),
                format!("`{k}` is one of rcload's own variables; choose another name"),
                None,
            ));
        }
    }
    let op = Op::from_name(name);
    let lists = matches!(op, Some(Op::ConsoleAttach | Op::ConsoleAudit));
    match (&spec.talkgroups, lists) {
        (Some(t), true) => {
            if let Err(m) = check_pointer(t, true) {
                out.push(problem(p.clone().key("talkgroups"), m, None));
            }
        }
        (None, true) if op == Some(Op::ConsoleAudit) => out.push(problem(
            p.clone(),
            "`talkgroups` is missing: the audit reads the console's talkgroups from the answer",
            Some("a JSON pointer such as `/talkgroups` or `/groups/*/gssi`"),
        )),
        (Some(_), false) => out.push(problem(
            p.clone().key("talkgroups"),
            "only `console.attach` and `console.audit` read talkgroups",
            None,
        )),
        _ => {}
    }
}

fn check_events(e: &EventsSpec, p: &FieldPath, out: &mut Vec<Problem>) {
    let schemes: &[&str] = match e.transport {
        Transport::Websocket => &["ws://", "wss://"],
        _ => &["http://", "https://"],
    };
    if !is_url_or_path(&e.url, schemes) {
        out.push(problem(
            p.clone().key("url"),
            format!(
                "must be a path on the target or start with {}",
                schemes.join(" or ")
            ),
            None,
        ));
    }
    let poll_only = [
        ("interval", e.interval.is_some()),
        ("items", e.items.is_some()),
        ("cursor", e.cursor.is_some()),
    ];
    if e.transport == Transport::Poll {
        if e.interval.is_none_or(|d| d.0.is_zero()) {
            out.push(problem(
                p.clone(),
                "`interval` is missing: how often to poll, e.g. `500ms`",
                None,
            ));
        }
        match &e.items {
            None => out.push(problem(
                p.clone(),
                "`items` is missing: the JSON pointer to the list of messages in an answer",
                None,
            )),
            Some(i) => {
                if let Err(m) = check_pointer(i, false) {
                    out.push(problem(p.clone().key("items"), m, None));
                }
            }
        }
        if let Some(c) = &e.cursor
            && let Err(m) = check_pointer(c, false)
        {
            out.push(problem(p.clone().key("cursor"), m, None));
        }
    } else {
        for (k, set) in poll_only {
            if set {
                out.push(problem(
                    p.clone().key(k),
                    "only the `poll` transport uses it",
                    None,
                ));
            }
        }
    }
    let sse_event = e.transport == Transport::Sse && e.type_field == "event";
    if !sse_event && let Err(m) = check_pointer(&e.type_field, false) {
        out.push(problem(p.clone().key("type"), m, None));
    }
    for (k, ptr) in e.fields.all() {
        if let Err(m) = check_pointer(ptr, false) {
            out.push(problem(p.clone().key("fields").key(k), m, None));
        }
    }
    let mut mapped = BTreeSet::new();
    for (vendor, ours) in &e.types {
        if !EVENT_TYPES.contains(&ours.as_str()) {
            out.push(problem(
                p.clone().key("types").key(vendor),
                format!("`{ours}` is not an rcload event type"),
                Some(&format!("event types are {}", EVENT_TYPES.join(", "))),
            ));
            continue;
        }
        mapped.insert(ours.as_str());
    }
    for ours in &mapped {
        for f in needed_fields(ours, e.matching) {
            if e.fields.get(f).is_none() {
                out.push(problem(
                    p.clone().key("fields"),
                    format!("`{f}` is missing: `{ours}` events need it"),
                    None,
                ));
            }
        }
    }
    if e.matching == Matching::Reference && e.window.is_some() {
        out.push(problem(
            p.clone().key("window"),
            "only `matching: correlate` uses a window",
            None,
        ));
    }
}
