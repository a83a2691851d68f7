//! The dynamic API, without compile-time types: every kind the cluster serves, as
//! `kubectl api-resources` lists them, and any resource dumped as YAML, as `kubectl get -o yaml`.
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example dynamic_api                      # the table
//! KUBECONFIG=... cargo run -p examples --example dynamic_api -- configmaps         # every ConfigMap as YAML
//! KUBECONFIG=... cargo run -p examples --example dynamic_api -- ns default         # one object (short names work)
//! ```
//!
//! Expected output of the first form (one row per resource, preferred versions only):
//!
//! ```text
//! NAME          SHORTNAMES  APIVERSION  NAMESPACED  KIND
//! bindings                  v1          true        Binding
//! configmaps    cm          v1          true        ConfigMap
//! ...
//! ```

use kube::{
    Api, Client,
    api::ListParams,
    core::{DynamicObject, ObjectList},
    discovery::Discovery,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let client = Client::try_default().await?;
    let discovery = Discovery::run(&client).await?;
    let Some(what) = args.next() else {
        let mut rows: Vec<[String; 5]> = discovery
            .preferred_resources()
            .map(|(ar, caps)| {
                [
                    ar.plural.clone(),
                    caps.short_names.join(","),
                    ar.api_version.clone(),
                    caps.namespaced().to_string(),
                    ar.kind.clone(),
                ]
            })
            .collect();
        // As kubectl: the core group first, then by group, then by name.
        rows.sort_by(|a, b| (a[2].contains('/'), &a[2], &a[0]).cmp(&(b[2].contains('/'), &b[2], &b[0])));
        rows.insert(0, ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].map(String::from));
        let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0)).collect();
        for row in rows {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", cells.join("  ").trim_end());
        }
        return Ok(());
    };
    let Some((ar, caps)) = discovery.find(&what) else {
        anyhow::bail!("the cluster serves no resource called {what:?} (see the table without arguments)");
    };
    let api: Api<DynamicObject> = if caps.namespaced() {
        Api::default_namespaced_with(client, &ar)
    } else {
        Api::all_with(client, &ar)
    };
    let mut objects = match args.next() {
        Some(name) => vec![api.get(&name).await?],
        None => {
            let list: ObjectList<DynamicObject> = api.list(&ListParams::default()).await?;
            list.items
        }
    };
    for object in &mut objects {
        // What a person reads: no managedFields, and the type, which lists leave out.
        object.metadata.managed_fields = None;
        object.types.get_or_insert_with(|| kube::core::TypeMeta {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
        });
    }
    println!("{}", serde_saphyr::to_string_multiple(&objects)?);
    Ok(())
}
