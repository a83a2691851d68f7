//! An admission webhook for ConfigMaps: a validator that refuses passwords (and warns about
//! empty ConfigMaps) and a defaulter that labels every ConfigMap with its team.
//!
//! ```sh
//! # serve with a mounted kubernetes.io/tls Secret, on 0.0.0.0:9443:
//! cargo run -p examples --example admission_webhook -- /certs/tls.crt /certs/tls.key
//! # self-driving, against a cluster whose API server can reach 127.0.0.1 (`just cluster`):
//! KUBECONFIG=... cargo run -p examples --example admission_webhook -- --demo
//! ```
//!
//! With `--demo` it makes a CA and a serving certificate for 127.0.0.1, serves on a free port,
//! registers both webhooks for one new namespace (by URL, with the CA as `caBundle`), creates a
//! good and a bad ConfigMap, prints what happened and removes its configurations. Expected
//! output:
//!
//! ```text
//! serving on 127.0.0.1:PORT
//! created cm/app with labels {"team": "unassigned"}
//! refused cm/secrets: admission webhook "validate.configmaps.example.com" denied the request: ...
//! ```

use std::net::SocketAddr;

use anyhow::Context as _;
use k8s_openapi::{
    api::{
        admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration},
        core::v1::{ConfigMap, Namespace},
    },
    apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta},
};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
    core::admission::AdmissionRequest,
    webhook::{
        Defaulter, Denial, TlsConfig, Validator, WebhookServer,
        config::{self, Endpoint, Rule, Webhook},
    },
};

fn validator() -> Validator<ConfigMap> {
    Validator::new(|req: AdmissionRequest<ConfigMap>| async move {
        let data = req.object.and_then(|cm| cm.data).unwrap_or_default();
        if data.keys().any(|k| k.to_lowercase().contains("password")) {
            return Err(Denial::new("configmaps must not hold passwords; use a Secret"));
        }
        Ok(if data.is_empty() { vec!["this configmap has no data".to_owned()] } else { vec![] })
    })
}

fn defaulter() -> Defaulter<ConfigMap> {
    Defaulter::new(|mut cm: ConfigMap, _req| async move {
        cm.metadata
            .labels
            .get_or_insert_default()
            .entry("team".into())
            .or_insert_with(|| "unassigned".into());
        Ok(cm)
    })
}

fn server(cert: &std::path::Path, key: &std::path::Path) -> WebhookServer {
    WebhookServer::new(TlsConfig::from_files(cert, key))
        .route("/validate", validator())
        .route("/mutate", defaulter())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--demo" => demo().await,
        [cert, key] => {
            let addr: SocketAddr = "0.0.0.0:9443".parse()?;
            let bound = server(cert.as_ref(), key.as_ref()).bind(addr).await?;
            println!("serving on {}", bound.local_addr()?);
            bound.serve(async { tokio::signal::ctrl_c().await.unwrap_or_default() }).await;
            Ok(())
        }
        _ => anyhow::bail!("usage: admission_webhook <tls.crt> <tls.key> | --demo"),
    }
}

async fn demo() -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let dir = std::env::temp_dir().join(format!("admission-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca = kube_test::TestCa::new("admission example CA")?;
    let (cert, key) = ca.issue_server("admission-webhook")?.write_to(&dir)?;

    let bound = server(&cert, &key).bind("127.0.0.1:0".parse()?).await?;
    let addr = bound.local_addr()?;
    println!("serving on {addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve(async {
        stopped.await.ok();
    }));

    let ns = format!("admission-example-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let meta = ObjectMeta { name: Some(ns.clone()), ..ObjectMeta::default() };
    namespaces.create(&PostParams::default(), &Namespace { metadata: meta, ..Namespace::default() }).await?;
    let only_ns = LabelSelector {
        match_labels: Some([("kubernetes.io/metadata.name".to_owned(), ns.clone())].into()),
        ..LabelSelector::default()
    };
    let endpoint = Endpoint::url(format!("https://{addr}")).ca_bundle(ca.ca_pem());
    let rule = || Rule::new(["CREATE", "UPDATE"], "", "v1", "configmaps");
    let validating = config::validating(
        &ns,
        [Webhook::new("validate.configmaps.example.com", endpoint.at("/validate"))
            .rule(rule())
            .namespace_selector(only_ns.clone())],
    );
    let mutating = config::mutating(
        &ns,
        [Webhook::new("default.configmaps.example.com", endpoint.at("/mutate"))
            .rule(rule())
            .namespace_selector(only_ns)],
    );
    let vwc: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let mwc: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    vwc.create(&PostParams::default(), &validating).await?;
    mwc.create(&PostParams::default(), &mutating).await?;

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm = |name: &str, key: &str| ConfigMap {
        metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
        data: Some([(key.to_owned(), "x".to_owned())].into()),
        ..ConfigMap::default()
    };
    // The API server picks new configurations up within a second or so: retry until labelled.
    let mut created = None;
    for _ in 0..50 {
        let dry = PostParams { dry_run: true, ..PostParams::default() };
        if cms.create(&dry, &cm("app", "mode")).await?.metadata.labels.is_some() {
            created = Some(cms.create(&PostParams::default(), &cm("app", "mode")).await?);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let created = created.context("the webhooks were never called")?;
    println!("created cm/app with labels {:?}", created.metadata.labels.unwrap_or_default());
    match cms.create(&PostParams::default(), &cm("secrets", "db-password")).await {
        Err(kube::Error::Api(status)) => println!("refused cm/secrets: {}", status.message),
        other => anyhow::bail!("cm/secrets should have been refused: {other:?}"),
    }

    vwc.delete(&ns, &DeleteParams::default()).await?;
    mwc.delete(&ns, &DeleteParams::default()).await?;
    namespaces.delete(&ns, &DeleteParams::default()).await?;
    stop.send(()).ok();
    serving.await?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
