//! Server-side apply of multi-document YAML files, like `kubectl apply --server-side`: each
//! document is applied as field manager `kube-apply-example`, to whatever kind it names (found by
//! discovery). `--dry-run` changes nothing and prints what would change, as a diff of the stored
//! object and the server's dry-run result.
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example apply -- --dry-run manifests.yaml
//! KUBECONFIG=... cargo run -p examples --example apply -- manifests.yaml
//! ```
//!
//! Expected output, for a file with a new ConfigMap and a changed one:
//!
//! ```text
//! configmap/app-config (default): created
//! configmap/app-flags (default): configured
//!   -   debug: "false"
//!   +   debug: "true"
//! ```
//!
//! `--force-conflicts` takes over fields another manager owns (kubectl's flag of the same name).

use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
    core::{DynamicObject, GroupVersionKind},
    discovery::Discovery,
};

const MANAGER: &str = "kube-apply-example";

/// The object as a person compares it: without the fields every write changes.
fn comparable(object: Option<&DynamicObject>) -> anyhow::Result<String> {
    let Some(object) = object else { return Ok(String::new()) };
    let mut object = object.clone();
    let meta = &mut object.metadata;
    meta.managed_fields = None;
    meta.resource_version = None;
    meta.generation = None;
    Ok(serde_saphyr::to_string(&object)?)
}

/// A line diff (longest common subsequence): removed lines as `-`, added as `+`.
fn diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

async fn apply(
    client: &Client,
    discovery: &Discovery,
    doc: DynamicObject,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<()> {
    let types = doc.types.clone().ok_or_else(|| anyhow::anyhow!("a document without apiVersion and kind"))?;
    let gvk = GroupVersionKind::from_api_version_kind(&types.api_version, &types.kind)?;
    let (ar, caps) = discovery
        .resolve_gvk(&gvk)
        .ok_or_else(|| anyhow::anyhow!("the cluster serves no {}/{}", types.api_version, types.kind))?;
    let name = doc.name_any();
    let api: Api<DynamicObject> = match (caps.namespaced(), doc.namespace()) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), &ns, &ar),
        (true, None) => Api::default_namespaced_with(client.clone(), &ar),
        (false, _) => Api::all_with(client.clone(), &ar),
    };
    let mut params = PatchParams::apply(MANAGER);
    if force {
        params = params.force();
    }
    let current = api.get_opt(&name).await?;
    let patch = Patch::Apply(&doc);
    let planned = api.patch(&name, &params.clone().dry_run(), &patch).await?;
    let changes = diff(&comparable(current.as_ref())?, &comparable(Some(&planned))?);
    let what = match (&current, changes.is_empty()) {
        (None, _) => "created",
        (Some(_), true) => "unchanged",
        (Some(_), false) => "configured",
    };
    let scope = api.namespace().map(|ns| format!(" ({ns})")).unwrap_or_default();
    let suffix = if dry_run { " (dry run)" } else { "" };
    println!("{}/{name}{scope}: {what}{suffix}", ar.kind.to_lowercase());
    if current.is_some() {
        for line in &changes {
            println!("  {line}");
        }
    }
    if !dry_run {
        api.patch(&name, &params, &patch).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let force = args.iter().any(|a| a == "--force-conflicts");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    anyhow::ensure!(!files.is_empty(), "usage: apply [--dry-run] [--force-conflicts] FILE...");
    let client = Client::try_default().await?;
    let discovery = Discovery::run(&client).await?;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let doc: DynamicObject =
                serde_json::from_value(doc).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            apply(&client, &discovery, doc, dry_run, force)
                .await
                .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn a_line_diff_shows_what_changed() {
        assert!(diff("a\nb\n", "a\nb\n").is_empty());
        assert_eq!(diff("a\nb\nc", "a\nx\nc"), ["- b", "+ x"]);
        assert_eq!(diff("", "a"), ["+ a"]);
    }
}
