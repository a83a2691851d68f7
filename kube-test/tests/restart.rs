//! Stopping and starting the apiserver keeps its port, certificates and etcd's data.

use std::time::Instant;

use kube_test::{Error, TestEnv};

#[test]
fn configmap_survives_apiserver_restart() -> Result<(), Error> {
    let env = TestEnv::start()?;
    let ns = env.create_unique_namespace("restart")?;
    env.kubectl(["create", "configmap", "durable", "-n", &ns, "--from-literal=k=v"])?;
    let old_pid = env.apiserver_pid();
    let port = env.apiserver_port();

    env.stop_apiserver()?;
    assert_eq!(env.apiserver_pid(), None);
    assert!(env.kubectl(["get", "ns"]).is_err(), "apiserver should be down");
    assert!(matches!(env.raw_get("/readyz"), Err(Error::Request { .. })));
    env.stop_apiserver()?; // stopping twice is fine

    let started = Instant::now();
    env.start_apiserver()?;
    println!("apiserver start after stop: {:.2}s", started.elapsed().as_secs_f64());
    assert!(matches!(env.start_apiserver(), Err(Error::ApiserverState(_))));
    assert_ne!(env.apiserver_pid(), old_pid);
    assert_eq!(env.apiserver_port(), port);

    // The old kubeconfig still works: same port, same CA and credentials.
    let value = env.kubectl(["get", "configmap", "durable", "-n", &ns, "-o", "jsonpath={.data.k}"])?;
    assert_eq!(value, "v");

    let started = Instant::now();
    env.restart_apiserver()?;
    println!("apiserver restart: {:.2}s", started.elapsed().as_secs_f64());
    let value = env.kubectl(["get", "configmap", "durable", "-n", &ns, "-o", "jsonpath={.data.k}"])?;
    assert_eq!(value, "v");
    Ok(())
}

#[test]
fn restart_on_a_taken_port_is_a_port_conflict() -> Result<(), Error> {
    let env = TestEnv::start()?;
    let port = env.apiserver_port();
    env.stop_apiserver()?;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| Error::Io {
        action: "bind",
        path: format!("127.0.0.1:{port}").into(),
        source: e,
    })?;
    let err = env.start_apiserver().err();
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(&err, Some(Error::PortConflict { port: p, .. }) if *p == port), "{msg}");
    assert!(msg.contains("address already in use"), "{msg}");
    drop(squatter);
    env.start_apiserver()?;
    assert_eq!(env.raw_get("/readyz")?.status, 200);
    Ok(())
}
