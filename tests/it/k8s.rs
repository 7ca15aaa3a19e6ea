//! The Kubernetes example (`examples/k8s/`, docs/scale-out.md): every manifest against the
//! Kubernetes API's schemas by kubernetes-validate (PyPI; `scripts/test` installs it and names
//! it in `RCLOAD_KUBERNETES_VALIDATE`), strictly: an unknown field is an error, and so is a kind
//! it has no schema for. First the parts that must agree with each other: the number of shards
//! (the shards Job's `completions`, `parallelism` and the `/N` of `--shard`) and the shard
//! directories the merge Job waits for and merges, the no-retry rule, and the profile of the
//! ConfigMap (`rcload validate` accepts it). A missing kubernetes-validate fails the test under
//! CI; elsewhere that part skips, saying so.

use crate::common::{TempDir, rcload_in};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are checked against: an Indexed Job's
/// `backoffLimitPerIndex` is GA from 1.33 (beta, on by default, from 1.29).
const KUBERNETES_VERSION: &str = "1.33.0";

fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/k8s")
}

/// Every `*.yaml` of examples/k8s, sorted.
fn manifests() -> Vec<PathBuf> {
    let dir = k8s_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// One manifest (one YAML document) as JSON values.
fn load(name: &str) -> Value {
    let path = k8s_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The value at a JSON pointer (`/spec/completions`), or a panic naming the file and pointer.
fn at<'a>(v: &'a Value, file: &str, pointer: &str) -> &'a Value {
    v.pointer(pointer)
        .unwrap_or_else(|| panic!("{file}: no {pointer}"))
}

/// A list of strings (a container's `args` or `command`).
fn strings(v: &Value, file: &str, pointer: &str) -> Vec<String> {
    at(v, file, pointer)
        .as_array()
        .unwrap_or_else(|| panic!("{file}: {pointer} is not a list"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("{file}: {pointer} holds a non-string: {s}"))
                .to_string()
        })
        .collect()
}

/// The argument after `flag` in `args`.
fn after<'a>(args: &'a [String], flag: &str, file: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{file}: no {flag} in {args:?}"));
    args.get(i + 1)
        .unwrap_or_else(|| panic!("{file}: nothing after {flag} in {args:?}"))
}

/// The mount path of the pod's volume whose `kind` (`configMap`, `secret`) names `object`.
fn mount_of(job: &Value, file: &str, kind: &str, key: &str, object: &str) -> String {
    let pod = at(job, file, "/spec/template/spec");
    let volume = at(pod, file, "/volumes")
        .as_array()
        .and_then(|vs| {
            vs.iter().find(|v| {
                v.pointer(&format!("/{kind}/{key}")).and_then(Value::as_str) == Some(object)
            })
        })
        .and_then(|v| v.get("name"))
        .unwrap_or_else(|| panic!("{file}: no volume of {kind} {object}"));
    at(pod, file, "/containers/0/volumeMounts")
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m.get("name") == Some(volume)))
        .and_then(|m| m.get("mountPath"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{file}: the volume {volume} is not mounted"))
        .to_string()
}

/// What the shards and the merge must agree on; returns the number of shards.
fn check_the_jobs_agree() -> u64 {
    let f = "shards-job.yaml";
    let shards = load(f);
    assert_eq!(at(&shards, f, "/kind"), "Job", "{f}");
    assert_eq!(at(&shards, f, "/spec/completionMode"), "Indexed", "{f}");
    let n = at(&shards, f, "/spec/completions")
        .as_u64()
        .unwrap_or_else(|| panic!("{f}: completions is not a number"));
    assert!(n >= 1, "{f}: completions {n}");
    assert_eq!(
        at(&shards, f, "/spec/parallelism").as_u64(),
        Some(n),
        "{f}: parallelism must be completions ({n}): the shards share one clock"
    );
    assert_eq!(
        at(&shards, f, "/spec/backoffLimitPerIndex").as_u64(),
        Some(0),
        "{f}: a shard must never be retried"
    );
    assert_eq!(
        at(&shards, f, "/spec/template/spec/restartPolicy"),
        "Never",
        "{f}"
    );
    let args = strings(&shards, f, "/spec/template/spec/containers/0/args");
    assert_eq!(
        args.first().map(String::as_str),
        Some("run"),
        "{f}: {args:?}"
    );
    assert_eq!(
        after(&args, "--shard", f),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "{f}: --shard must say {n} shards, as completions does"
    );
    let profile_dir = mount_of(&shards, f, "configMap", "name", "rcload-profile");
    assert_eq!(
        args.get(1),
        Some(&format!("{profile_dir}/profile.yaml")),
        "{f}: {args:?}"
    );
    let token_dir = mount_of(&shards, f, "secret", "secretName", "rcload-target");
    assert_eq!(
        after(&args, "--token-file", f),
        format!("{token_dir}/token"),
        "{f}"
    );
    let shard_out = after(&args, "--out", f);
    assert!(
        shard_out.contains("$(JOB_COMPLETION_INDEX)"),
        "{f}: --out {shard_out} is not the shard's own directory"
    );
    let expected: Vec<String> = (0..n)
        .map(|i| shard_out.replace("$(JOB_COMPLETION_INDEX)", &i.to_string()))
        .collect();

    let f = "merge-job.yaml";
    let merge = load(f);
    assert_eq!(at(&merge, f, "/kind"), "Job", "{f}");
    assert_eq!(
        at(&merge, f, "/spec/backoffLimit").as_u64(),
        Some(0),
        "{f}: a merge is not retried"
    );
    let args = strings(&merge, f, "/spec/template/spec/containers/0/args");
    assert_eq!(
        args.first().map(String::as_str),
        Some("merge"),
        "{f}: {args:?}"
    );
    let merged: Vec<String> = args
        .iter()
        .skip(1)
        .take_while(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    assert_eq!(
        merged, expected,
        "{f}: the merge must list every shard's --out of shards-job.yaml, 0..{n}"
    );
    // The init container: `sh -c SCRIPT NAME DIR...`, waiting for the same directories.
    let wait = strings(&merge, f, "/spec/template/spec/initContainers/0/command");
    assert_eq!(
        wait.get(..2),
        Some(&["sh".to_string(), "-c".to_string()][..]),
        "{f}"
    );
    assert_eq!(
        wait.get(4..).map(<[String]>::to_vec),
        Some(expected),
        "{f}: the init container must wait for every shard's directory, 0..{n}"
    );
    n
}

/// The profile of the ConfigMap is one `rcload validate` accepts, with objectives and without
/// a `mock:` section (the shards load a real target).
fn check_the_profile() {
    let f = "profile-configmap.yaml";
    let cm = load(f);
    let text = at(&cm, f, "/data/profile.yaml")
        .as_str()
        .unwrap_or_else(|| panic!("{f}: data.profile.yaml is not text"));
    let profile: Value =
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{f}: profile.yaml: {e}"));
    assert!(
        profile.get("slo").is_some(),
        "{f}: the profile has no objectives"
    );
    assert!(
        profile.get("mock").is_none(),
        "{f}: the profile has a mock: section"
    );
    let d = TempDir::new("k8s-profile");
    d.write("profile.yaml", text);
    rcload_in(d.path(), &["validate", "profile.yaml"]).expect_code(0);
}

#[test]
#[ignore = "second tier (scripts/test): needs kubernetes-validate"]
fn the_kubernetes_example_is_valid_and_its_shard_counts_agree() {
    let files = manifests();
    assert!(!files.is_empty(), "no *.yaml in {}", k8s_dir().display());
    let n = check_the_jobs_agree();
    check_the_profile();
    eprintln!("examples/k8s: {n} shards in both Jobs; the profile validates");

    let tool = std::env::var("RCLOAD_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".into());
    let present = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubernetes-validate ({tool}) is missing: scripts/test installs it"
        );
        eprintln!(
            "SKIPPED: kubernetes-validate ({tool}) is not available; scripts/test installs it"
        );
        return;
    }
    let mut cmd = Command::new(&tool);
    cmd.args(["--strict", "-k", KUBERNETES_VERSION])
        .args(&files);
    let shown = format!(
        "{tool} --strict -k {KUBERNETES_VERSION} {}",
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!(
        "command: {shown}\nexit code: {:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status.code()
    );
    assert!(
        out.status.success(),
        "kubernetes-validate failed\n{context}"
    );
    // It exits 0 on a kind it has no schema for (a WARN line): that is not a validation.
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("WARN") || l.starts_with("ERROR")),
        "kubernetes-validate warned or failed\n{context}"
    );
    for file in &files {
        let shown_file = file.display().to_string();
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("INFO") && l.contains(&shown_file) && l.contains("passed")),
            "{shown_file}: no resource of it passed\n{context}"
        );
    }
    eprintln!(
        "kubernetes-validate: {} manifests pass (Kubernetes {KUBERNETES_VERSION}, strict)",
        files.len()
    );
}
