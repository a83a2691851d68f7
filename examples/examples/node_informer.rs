//! The seed's node informer: reacts to Nodes being added, changed and removed. When a Node becomes
//! unschedulable it lists the Node's failing conditions and asks for the Node's Events with a
//! field selector (`involvedObject.kind=Node,involvedObject.name=...`).
//!
//! Run it against any cluster (`just cluster` starts a local one and prints its KUBECONFIG):
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example node_informer            # until Ctrl-C
//! KUBECONFIG=... cargo run -p examples --example node_informer -- --demo  # self-driving
//! ```
//!
//! With `--demo` it plays a kubelet's and an admin's part itself (Nodes are plain API objects, no
//! kubelet is needed): it registers a Node, reports memory pressure, cordons it, records an Event
//! and deletes it, and exits once it has seen the deletion. Expected output:
//!
//! ```text
//! added node demo-node-1 (Ready=True)
//! node demo-node-1 is unschedulable; failing conditions: MemoryPressure (KubeletHasInsufficientMemory: ...)
//!   event: Warning EvictionThresholdMet: Attempting to reclaim memory
//! removed node demo-node-1
//! ```

use std::collections::HashMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, NodeCondition};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::watcher::{self, Event},
};
use serde_json::json;

/// Conditions whose healthy status is `False`; for `Ready` it is `True`.
fn failing(condition: &NodeCondition) -> bool {
    match condition.type_.as_str() {
        "Ready" => condition.status != "True",
        _ => condition.status == "True",
    }
}

fn ready(node: &Node) -> String {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    let ready = conditions.and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    ready.map_or_else(|| "unknown".to_string(), |c| c.status.clone())
}

fn unschedulable(node: &Node) -> bool {
    node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
}

/// What the informer does when a Node turns unschedulable.
async fn report_unschedulable(client: &Client, node: &Node) -> anyhow::Result<()> {
    let name = node.name_any();
    let conditions = node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let failing: Vec<String> = conditions
        .iter()
        .filter(|c| failing(c))
        .map(|c| {
            let why = c.reason.clone().unwrap_or_default();
            let msg = c.message.clone().unwrap_or_default();
            format!("{} ({why}: {msg})", c.type_)
        })
        .collect();
    println!(
        "node {name} is unschedulable; failing conditions: {}",
        if failing.is_empty() { "none".into() } else { failing.join(", ") }
    );
    let events: Api<CoreEvent> = Api::all(client.clone());
    let selector = format!("involvedObject.kind=Node,involvedObject.name={name}");
    for event in events.list(&ListParams::default().fields(&selector)).await? {
        println!(
            "  event: {} {}: {}",
            event.type_.unwrap_or_default(),
            event.reason.unwrap_or_default(),
            event.message.unwrap_or_default()
        );
    }
    Ok(())
}

/// Plays a kubelet and an admin: a Node that comes up, gets memory pressure, is cordoned, has an
/// Event recorded, and is deleted.
async fn drive(client: Client, name: String) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": {"example": "node-informer"}}}))?;
    nodes.create(&PostParams::default(), &node).await?;
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"})
    };
    let status =
        |conditions: Vec<serde_json::Value>| Patch::Merge(json!({"status": {"conditions": conditions}}));
    let ready = condition("Ready", "True", "KubeletReady", "kubelet is posting ready status");
    let healthy_memory = condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "ok");
    let pressure =
        condition("MemoryPressure", "True", "KubeletHasInsufficientMemory", "available memory is low");
    nodes.patch_status(&name, &PatchParams::default(), &status(vec![ready.clone(), healthy_memory])).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    nodes.patch_status(&name, &PatchParams::default(), &status(vec![ready, pressure])).await?;
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let event: CoreEvent = serde_json::from_value(json!({
        "metadata": {"generateName": format!("{name}.")},
        "involvedObject": {"kind": "Node", "name": name, "apiVersion": "v1"},
        "type": "Warning", "reason": "EvictionThresholdMet", "message": "Attempting to reclaim memory",
        "source": {"component": "kubelet", "host": name},
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1
    }))?;
    events.create(&PostParams::default(), &event).await?;
    nodes
        .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"unschedulable": true}})))
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    nodes.delete(&name, &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let demo = std::env::args().any(|a| a == "--demo");
    let client = Client::try_default().await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let demo_node = format!("demo-node-{}", std::process::id());
    let mut config = watcher::Config::default().drop_managed_fields();
    if demo {
        config = config.fields(&format!("metadata.name={demo_node}"));
    }
    let mut events = watcher::watcher(nodes, config).boxed();
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut driver = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::InitDone) if demo && driver.is_none() => {
                driver = Some(tokio::spawn(drive(client.clone(), demo_node.clone())));
            }
            Ok(Event::InitApply(node) | Event::Apply(node)) => {
                let name = node.name_any();
                let was = known.insert(name.clone(), unschedulable(&node));
                match was {
                    None => println!("added node {name} (Ready={})", ready(&node)),
                    Some(false) if unschedulable(&node) => report_unschedulable(&client, &node).await?,
                    Some(_) => println!("changed node {name} (Ready={})", ready(&node)),
                }
            }
            Ok(Event::Delete(node)) => {
                let name = node.name_any();
                known.remove(&name);
                println!("removed node {name}");
                if demo && name == demo_node {
                    break;
                }
            }
            Ok(_) => {}
            // The watcher recovers by itself; errors are for the log.
            Err(e) => eprintln!("watch error: {e}"),
        }
    }
    if let Some(driver) = driver {
        driver.await??;
    }
    Ok(())
}
