//! Installing a CustomResourceDefinition and using it.

use kube_test::{Error, TestEnv};

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kube-test.example.com
spec:
  group: kube-test.example.com
  names:
    kind: Widget
    listKind: WidgetList
    plural: widgets
    singular: widget
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
"#;

#[test]
fn install_crd_and_create_a_custom_resource() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let names = env.install_crd(CRD)?;
    assert_eq!(names, ["widgets.kube-test.example.com"]);
    // Installing again is an idempotent apply.
    env.install_crd(CRD)?;

    let ns = env.create_unique_namespace("crd")?;
    let widget =
        "apiVersion: kube-test.example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n";
    env.kubectl_with_stdin(["apply", "-n", &ns, "-f", "-"], widget)?;
    let size = env.kubectl(["get", "widgets", "w1", "-n", &ns, "-o", "jsonpath={.spec.size}"])?;
    assert_eq!(size, "3");

    let resp = env.raw_get(&format!("/apis/kube-test.example.com/v1/namespaces/{ns}/widgets/w1"))?;
    assert_eq!(resp.status, 200, "{}", resp.body);
    Ok(())
}

#[test]
fn manifests_without_crds_are_rejected() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let err = env.install_crd("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    assert!(matches!(err, Err(Error::InvalidManifest(_))), "{err:?}");
    let err = env.install_crd("{ not yaml: [");
    assert!(matches!(err, Err(Error::ManifestSyntax(_))), "{err:?}");
    Ok(())
}

#[test]
fn waiting_for_a_missing_crd_times_out_clearly() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let err = env
        .wait_crd_established("nothing.example.com", std::time::Duration::from_millis(300))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("timed out after") && err.contains("nothing.example.com to be Established"),
        "{err}"
    );
    assert!(err.contains("HTTP 404"), "{err}");
    Ok(())
}

#[test]
fn installed_crd_is_discoverable_at_once() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.discovery.kube-test.example.com
spec:
  group: discovery.kube-test.example.com
  names: {kind: Gadget, listKind: GadgetList, plural: gadgets, singular: gadget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v2
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;
    env.install_crd(crd)?;
    for version in ["v1", "v2"] {
        let resp = env.raw_get(&format!("/apis/discovery.kube-test.example.com/{version}"))?;
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert!(resp.body.contains(r#""name":"gadgets""#), "{}", resp.body);
        let resp = env.raw_get(&format!("/apis/discovery.kube-test.example.com/{version}/gadgets"))?;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    Ok(())
}
