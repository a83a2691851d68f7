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
