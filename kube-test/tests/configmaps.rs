//! Creating a namespace and a ConfigMap in the shared environment and reading them back with
//! kubectl as an independent client.

use kube_test::{Error, TestEnv};
use serde_json::Value;

fn json(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|source| Error::Json { what: "kubectl output".into(), source })
}

#[test]
fn configmap_round_trip() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let ns = env.create_unique_namespace("configmaps")?;
    env.kubectl([
        "create",
        "configmap",
        "settings",
        "-n",
        &ns,
        "--from-literal=colour=blue",
        "--from-literal=size=7",
    ])?;

    let cm = json(&env.kubectl(["get", "configmap", "settings", "-n", &ns, "-o", "json"])?)?;
    assert_eq!(cm["metadata"]["namespace"], ns.as_str());
    assert_eq!(cm["data"]["colour"], "blue");
    assert_eq!(cm["data"]["size"], "7");

    let namespace = json(&env.kubectl(["get", "namespace", &ns, "-o", "json"])?)?;
    assert_eq!(namespace["status"]["phase"], "Active");
    Ok(())
}

#[test]
fn apply_from_stdin_and_raw_get() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let ns = env.create_unique_namespace("apply")?;
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  key: value\n";
    env.kubectl_with_stdin(["apply", "-n", &ns, "-f", "-"], manifest)?;

    let resp = env.raw_get(&format!("/api/v1/namespaces/{ns}/configmaps/applied"))?;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()?["data"]["key"], "value");
    Ok(())
}

#[test]
fn unique_namespace_names_differ_and_are_valid() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let a = env.unique_namespace_name("My_Test::case");
    let b = env.unique_namespace_name("My_Test::case");
    assert_ne!(a, b);
    assert!(a.starts_with("my-test--case-"), "{a}");
    assert!(a.len() <= 63 && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    env.create_namespace(&a)?;
    let err = env.create_namespace(&a).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("409"), "creating twice should conflict: {err}");
    Ok(())
}

#[test]
fn kubectl_errors_carry_stderr() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let err = env.kubectl(["get", "configmap", "does-not-exist", "-n", "default"]);
    let stderr = match err {
        Err(Error::Kubectl { stderr, .. }) => stderr,
        other => format!("not a kubectl error: {other:?}"),
    };
    assert!(stderr.contains("NotFound") || stderr.contains("not found"), "{stderr}");
    Ok(())
}
