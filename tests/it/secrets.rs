//! No secret reaches an output. One test runs with every kind rcload handles, over mutual
//! TLS and through a proxy that wants a password: an API v1 bearer token (`--token-file`),
//! an OAuth2 client secret (vendor-x through its mapping, tokens renewed every second), the
//! client certificate's private key, and the proxy's password. Then it greps stdout, stderr
//! and every file of the run directories (and of `rcload report`'s rebuild) for each.

use crate::common;
use crate::proxy::Proxy;
use common::{Run, TempDir, rcload_env, rcload_in, summary};
use std::path::{Path, PathBuf};

const TOKEN: &str = "tok-5be2c8d1a7-never-printed";
const OAUTH_SECRET: &str = "oauth-9d41f7e3b6-never-printed";
const PROXY_PASSWORD: &str = "proxy-3c8e1a5f92-never-printed";
const CLIENT_ID: &str = "rcload-ci";

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn no_token_client_key_oauth_secret_or_proxy_password_reaches_any_output() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let proxy = Proxy::start(&rt);
    let proxy_url = proxy
        .url
        .replace("http://", &format!("http://tester:{PROXY_PASSWORD}@"));
    let d = TempDir::new("secrets");
    crate::tls::pki(&d);
    d.write("p.yaml", &common::small_profile("secrets-test"));
    d.write("token", &format!("{TOKEN}\n"));
    let mapping = concat!(env!("CARGO_MANIFEST_DIR"), "/adapters/vendor-x.yaml");
    let tls = [
        "--tls-cert",
        "server.pem",
        "--tls-key",
        "server.key",
        "--client-ca",
        "ca.pem",
    ];
    let in_dir = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| {
                if a.ends_with(".pem") || a.ends_with(".key") {
                    d.path().join(a).display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    let api_args = in_dir(&[tls.as_slice(), &["--token-env", "RCLOAD_TEST_MOCK_TOKEN"]].concat());
    let api_args: Vec<&str> = api_args.iter().map(String::as_str).collect();
    let (api, api_url) = common::start_mock_with(&api_args, &[("RCLOAD_TEST_MOCK_TOKEN", TOKEN)]);
    let vx_args = in_dir(
        &[
            tls.as_slice(),
            &[
                "--dialect",
                "vendor-x",
                "--client-id",
                CLIENT_ID,
                "--token-lifetime",
                "1s",
            ],
        ]
        .concat(),
    );
    let vx_args: Vec<&str> = vx_args.iter().map(String::as_str).collect();
    let (vx, vx_url) =
        common::start_mock_with(&vx_args, &[("RCLOAD_MOCK_CLIENT_SECRET", OAUTH_SECRET)]);

    let reach = [
        "--ca-cert",
        "ca.pem",
        "--client-cert",
        "client.pem",
        "--client-key",
        "client.key",
        "--proxy",
        proxy_url.as_str(),
    ];
    let vx_env = [
        ("VENDORX_CLIENT_ID", CLIENT_ID),
        ("VENDORX_CLIENT_SECRET", OAUTH_SECRET),
        ("RCLOAD_TOKEN", TOKEN),
        ("RUST_LOG", "debug"),
    ];
    fn with<'a>(head: &[&'a str], reach: &[&'a str]) -> Vec<&'a str> {
        [head, reach].concat()
    }
    let runs: Vec<(&str, Run)> = vec![
        (
            "api v1 run",
            rcload_env(
                d.path(),
                &with(
                    &[
                        "run",
                        "p.yaml",
                        "--target",
                        &api_url,
                        "--token-file",
                        "token",
                        "--out",
                        "api",
                    ],
                    &reach,
                ),
                &[("RUST_LOG", "debug")],
            ),
        ),
        (
            "vendor-x run",
            rcload_env(
                d.path(),
                &with(
                    &[
                        "run",
                        "p.yaml",
                        "--duration",
                        "4s",
                        "--target",
                        &vx_url,
                        "--adapter",
                        mapping,
                        "--out",
                        "vx",
                    ],
                    &reach,
                ),
                &vx_env,
            ),
        ),
        (
            "adapter check",
            rcload_env(
                d.path(),
                &with(
                    &[
                        "adapter",
                        "check",
                        "--adapter",
                        mapping,
                        "--target",
                        &vx_url,
                    ],
                    &reach,
                ),
                &vx_env,
            ),
        ),
        ("report api", rcload_in(d.path(), &["report", "api"])),
        ("report vx", rcload_in(d.path(), &["report", "vx"])),
    ];
    stop(api);
    stop(vx);
    for (_, r) in &runs {
        r.expect_code(0);
    }
    // Every connection went through the proxy's tunnels: https requests, token requests and
    // the WebSocket channel.
    assert!(proxy.tunnels() >= 3, "{} tunnels", proxy.tunnels());
    let s = summary(&d.path().join("vx"));
    let statuses = s.deliveries.get("status").map_or(0, |x| x.delivered);
    assert!(
        statuses > 0,
        "no status reached a console over the WebSocket\n{}",
        runs[1].1
    );
    assert!(
        s.operations.contains_key("auth.token"),
        "{:?}",
        s.operations.keys()
    );

    let key = std::fs::read_to_string(d.path().join("client.key")).expect("key");
    let key_line = key.lines().nth(1).expect("a key line").to_string();
    let secrets = [
        ("the token", TOKEN),
        ("the OAuth2 secret", OAUTH_SECRET),
        ("the proxy password", PROXY_PASSWORD),
        ("the client key", key_line.as_str()),
    ];
    let mut files = files_under(&d.path().join("api"));
    files.extend(files_under(&d.path().join("vx")));
    assert!(files.len() >= 10, "{files:?}");
    for (what, secret) in secrets {
        for (name, r) in &runs {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{name} printed {what}\n{r}"
            );
        }
        for f in &files {
            let bytes = std::fs::read(f).expect("read");
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {what}",
                f.display()
            );
        }
    }
}
