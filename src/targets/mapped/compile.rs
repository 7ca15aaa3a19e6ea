//! From a mapping file's text to a [`Mapping`]: parse with located errors, check the fields,
//! compile every template once (a syntax error or an unknown variable is located like any
//! other problem), and read the credentials the file names from the environment.

use super::spec::{
    ActionSpec, AdapterFile, AuthSpec, Matching, Scope, Transport, check, scope_of, variables_of,
};
use crate::profile::{FieldPath, KeyIndex, Problem, ProfileError, Source};
use crate::targets::auth::{ClientAuth, Credentials, OAuth2, Secret};
use minijinja::{Environment, UndefinedBehavior};
use rcload_api::Op;
use reqwest::Method;
use reqwest::header::HeaderName;
use std::collections::BTreeSet;
use std::time::Duration;

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{file}: cannot read the mapping file: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {field}: {message}{}", hint_text(.hint))]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
        hint: Option<String>,
    },
    #[error("{file}: {field}: {message}{}", hint_text(.hint))]
    Unplaced {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
    },
    #[error("{file}: auth.{field}: the environment variable {var} is not set")]
    Env {
        file: String,
        field: &'static str,
        var: String,
    },
}

fn hint_text(h: &Option<String>) -> String {
    h.as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

/// A template, or text that needs none.
#[derive(Debug, Clone)]
pub enum Tpl {
    Literal(String),
    Named(String),
}

impl Tpl {
    /// The text as written: the literal, or the template's source.
    pub fn source(&self, env: &Environment<'static>) -> Option<String> {
        match self {
            Tpl::Literal(s) => Some(s.clone()),
            Tpl::Named(name) => env.get_template(name).ok().map(|t| t.source().to_string()),
        }
    }

    pub fn render(
        &self,
        env: &Environment<'static>,
        ctx: &minijinja::Value,
    ) -> Result<String, String> {
        match self {
            Tpl::Literal(s) => Ok(s.clone()),
            Tpl::Named(name) => env
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| template_error(&e)),
        }
    }
}

fn template_error(e: &minijinja::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        msg = format!("{msg}: {s}");
        cur = s.source();
    }
    msg
}

/// One action, ready to send.
#[derive(Debug, Clone)]
pub struct CompiledAction {
    pub name: &'static str,
    pub method: Method,
    pub path: Tpl,
    pub headers: Vec<(HeaderName, Tpl)>,
    pub body: Option<Tpl>,
    /// The body is JSON (no `content-type` header of its own).
    pub json_body: bool,
    pub success: Option<Vec<u16>>,
    pub capture: Vec<(String, String)>,
    pub talkgroups: Option<String>,
    pub scope: Scope,
    /// Captured values its templates use: each must be known before it is sent.
    pub needs: Vec<String>,
}

/// The event channel, ready to open.
#[derive(Debug, Clone)]
pub struct CompiledEvents {
    pub transport: Transport,
    pub url: Tpl,
    /// Captured values the URL and headers use.
    pub needs: Vec<String>,
    pub headers: Vec<(HeaderName, Tpl)>,
    pub poll_interval: Duration,
    pub items: Option<String>,
    pub cursor: Option<String>,
    /// `None`: the SSE event name.
    pub type_field: Option<String>,
    pub fields: super::spec::FieldsSpec,
    pub types: std::collections::HashMap<String, &'static str>,
    pub matching: Matching,
    pub window: Duration,
}

/// A mapping file, compiled.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub file: AdapterFile,
    /// Where it came from, for messages and results.
    pub source: String,
    pub env: Environment<'static>,
    /// By [`Op::index`]; `None`: unsupported.
    pub actions: Vec<Option<CompiledAction>>,
    pub events: CompiledEvents,
    pub static_headers: Vec<(HeaderName, String)>,
}

impl Mapping {
    pub fn action(&self, op: Op) -> Option<&CompiledAction> {
        self.actions.get(op.index()).and_then(|a| a.as_ref())
    }

    /// The actions marked unsupported.
    pub fn unsupported(&self) -> Vec<&'static str> {
        super::spec::actions()
            .into_iter()
            .filter(|a| op_of(a).is_some_and(|op| self.action(op).is_none()))
            .collect()
    }
}

/// The operation of an action name.
pub fn op_of(name: &str) -> Option<Op> {
    Op::ALL.iter().copied().find(|o| o.name() == name)
}

/// Read, parse, check and compile a mapping file.
pub fn load(path: &str) -> Result<Mapping, AdapterError> {
    let text = std::fs::read_to_string(path).map_err(|source| AdapterError::Read {
        file: path.to_string(),
        source,
    })?;
    parse(&Source {
        name: path.to_string(),
        text,
    })
}

/// Parse, check and compile a mapping file's text.
pub fn parse(source: &Source) -> Result<Mapping, AdapterError> {
    let index = KeyIndex::new(&source.text);
    let file: AdapterFile = serde_saphyr::from_str(&source.text)
        .map_err(|e| located(crate::profile::parse_error(source, &index, &e)))?;
    if let Some(p) = check(&file).into_iter().next() {
        return Err(place(source, &index, p));
    }
    compile(file, &source.name).map_err(|p| place(source, &index, p))
}

fn adapters_hint(h: Option<String>) -> Option<String> {
    h.map(|h| h.replace("docs/profiles.md", "docs/adapters.md"))
}

fn located(e: ProfileError) -> AdapterError {
    match e {
        ProfileError::Invalid {
            file,
            line,
            column,
            field,
            message,
            hint,
        } => AdapterError::Invalid {
            file,
            line,
            column,
            field,
            message,
            hint: adapters_hint(hint),
        },
        ProfileError::Unplaced {
            file,
            field,
            message,
            hint,
        } => AdapterError::Unplaced {
            file,
            field,
            message,
            hint: adapters_hint(hint),
        },
        other => AdapterError::Unplaced {
            file: String::new(),
            field: "(file)".into(),
            message: other.to_string(),
            hint: None,
        },
    }
}

fn place(source: &Source, index: &KeyIndex, p: Problem) -> AdapterError {
    match index.locate(&p.path) {
        Some((line, column)) => AdapterError::Invalid {
            file: source.name.clone(),
            line,
            column,
            field: p.path.to_string(),
            message: p.message,
            hint: p.hint,
        },
        None => AdapterError::Unplaced {
            file: source.name.clone(),
            field: p.path.to_string(),
            message: p.message,
            hint: p.hint,
        },
    }
}

fn bad(path: FieldPath, message: impl Into<String>, hint: Option<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint,
    }
}

/// Builds templates, checking that each uses only the variables it will have.
struct Builder {
    env: Environment<'static>,
    /// Variables the templates built since the last [`Builder::take_used`] use.
    used: BTreeSet<String>,
}

impl Builder {
    fn take_used(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.used)
    }
}

impl Builder {
    fn template(
        &mut self,
        path: FieldPath,
        text: &str,
        known: &BTreeSet<String>,
    ) -> Result<Tpl, Problem> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(Tpl::Literal(text.to_string()));
        }
        let name = path.to_string();
        self.env
            .add_template_owned(name.clone(), text.to_string())
            .map_err(|e| {
                bad(
                    path.clone(),
                    format!("template: {}", template_error(&e)),
                    None,
                )
            })?;
        let t = self
            .env
            .get_template(&name)
            .map_err(|e| bad(path.clone(), template_error(&e), None))?;
        let vars = t.undeclared_variables(false);
        let mut unknown: Vec<String> = vars
            .iter()
            .filter(|v| !known.contains(*v))
            .cloned()
            .collect();
        self.used.extend(vars);
        unknown.sort();
        if let Some(v) = unknown.first() {
            return Err(bad(
                path,
                format!("the template uses `{v}`, which this action does not have"),
                Some(format!(
                    "it has {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ));
        }
        Ok(Tpl::Named(name))
    }

    fn headers(
        &mut self,
        path: FieldPath,
        headers: &std::collections::BTreeMap<String, String>,
        known: &BTreeSet<String>,
    ) -> Result<Vec<(HeaderName, Tpl)>, Problem> {
        let mut out = Vec::new();
        for (k, v) in headers {
            let hp = path.clone().key(k);
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                bad(
                    hp.clone(),
                    format!("`{k}` is not a valid header name"),
                    None,
                )
            })?;
            out.push((name, self.template(hp, v, known)?));
        }
        Ok(out)
    }
}

/// Captures available to each scope: every capture of its actions.
fn captures_of(file: &AdapterFile, scope: Scope) -> BTreeSet<String> {
    file.actions
        .iter()
        .filter(|(name, a)| !a.unsupported && scope_of(name) == scope)
        .flat_map(|(_, a)| a.capture.keys().cloned())
        .collect()
}

fn compile(file: AdapterFile, source: &str) -> Result<Mapping, Problem> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let mut b = Builder {
        env,
        used: BTreeSet::new(),
    };
    let mut actions: Vec<Option<CompiledAction>> = vec![None; Op::ALL.len()];
    let root = FieldPath::root();
    for op in Op::ALL {
        let name = op.name();
        let Some(spec) = file.actions.get(name) else {
            continue;
        };
        if spec.unsupported {
            continue;
        }
        let p = root.clone().key("actions").key(name);
        let scope = scope_of(name);
        let mut known: BTreeSet<String> =
            variables_of(name).iter().map(|s| s.to_string()).collect();
        known.extend(captures_of(&file, scope));
        actions[op.index()] = Some(compile_action(&mut b, name, spec, &p, scope, &known)?);
    }
    let e = &file.events;
    let ep = root.clone().key("events");
    let mut known = captures_of(&file, Scope::Console);
    known.insert("console".into());
    if e.transport == Transport::Poll {
        known.insert("cursor".into());
    }
    b.take_used();
    let url = b.template(ep.clone().key("url"), &e.url, &known)?;
    let headers = b.headers(ep.clone().key("headers"), &e.headers, &known)?;
    let needs = b
        .take_used()
        .into_iter()
        .filter(|v| v != "console" && v != "cursor")
        .collect();
    let types = e
        .types
        .iter()
        .filter_map(|(k, v)| {
            super::spec::EVENT_TYPES
                .iter()
                .find(|t| **t == v.as_str())
                .map(|t| (k.clone(), *t))
        })
        .collect();
    let events = CompiledEvents {
        transport: e.transport,
        url,
        needs,
        headers,
        poll_interval: e
            .interval
            .map(|d| d.0)
            .unwrap_or(Duration::from_millis(500)),
        items: e.items.clone(),
        cursor: e.cursor.clone(),
        type_field: (!(e.transport == Transport::Sse && e.type_field == "event"))
            .then(|| e.type_field.clone()),
        fields: e.fields.clone(),
        types,
        matching: e.matching,
        window: e.window.map(|d| d.0).unwrap_or(Duration::from_secs(10)),
    };
    let mut static_headers = Vec::new();
    for (k, v) in &file.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
            bad(
                root.clone().key("headers").key(k),
                format!("`{k}` is not a valid header name"),
                None,
            )
        })?;
        static_headers.push((name, v.clone()));
    }
    Ok(Mapping {
        file,
        source: source.to_string(),
        env: b.env,
        actions,
        events,
        static_headers,
    })
}

fn compile_action(
    b: &mut Builder,
    name: &'static str,
    spec: &ActionSpec,
    p: &FieldPath,
    scope: Scope,
    known: &BTreeSet<String>,
) -> Result<CompiledAction, Problem> {
    b.take_used();
    let method_text = spec.method.as_deref().unwrap_or("GET");
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|_| bad(p.clone().key("method"), "not an HTTP method", None))?;
    let path = b.template(
        p.clone().key("path"),
        spec.path.as_deref().unwrap_or("/"),
        known,
    )?;
    let headers = b.headers(p.clone().key("headers"), &spec.headers, known)?;
    let body = spec
        .body
        .as_deref()
        .map(|t| b.template(p.clone().key("body"), t, known))
        .transpose()?;
    let json_body = !spec
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    Ok(CompiledAction {
        name,
        method,
        path,
        headers,
        body,
        json_body,
        success: spec.success.clone(),
        capture: spec
            .capture
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        talkgroups: spec.talkgroups.clone(),
        scope,
        needs: b
            .take_used()
            .into_iter()
            .filter(|v| !super::spec::variables_of(name).contains(&v.as_str()))
            .collect(),
    })
}

/// Read the credentials the mapping names from the environment. A token URL given as a path
/// stays one: the target joins it to its base URL.
pub fn credentials(mapping: &Mapping) -> Result<Credentials, AdapterError> {
    let file = &mapping.source;
    let var = |field: &'static str, name: &str| -> Result<Secret, AdapterError> {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
            _ => Err(AdapterError::Env {
                file: file.clone(),
                field,
                var: name.to_string(),
            }),
        }
    };
    Ok(match &mapping.file.auth {
        AuthSpec::None => Credentials::None,
        AuthSpec::Bearer {
            token_env,
            optional,
        } => match var("token_env", token_env) {
            Ok(t) => Credentials::Bearer(t),
            Err(_) if *optional => Credentials::None,
            Err(e) => return Err(e),
        },
        AuthSpec::Basic {
            username_env,
            password_env,
        } => Credentials::Basic {
            username: var("username_env", username_env)?.0,
            password: var("password_env", password_env)?,
        },
        AuthSpec::Header { name, value_env } => Credentials::Header {
            name: name.clone(),
            value: var("value_env", value_env)?,
        },
        AuthSpec::Oauth2 {
            token_url,
            client_id_env,
            client_secret_env,
            scope,
            client_auth,
            refresh_before,
        } => Credentials::OAuth2(OAuth2 {
            token_url: token_url.clone(),
            client_id: var("client_id_env", client_id_env)?.0,
            client_secret: var("client_secret_env", client_secret_env)?,
            scope: scope.clone(),
            client_auth: match client_auth.as_deref() {
                Some("body") => ClientAuth::Body,
                _ => ClientAuth::Basic,
            },
            refresh_before: refresh_before.map(|d| d.0),
        }),
    })
}
