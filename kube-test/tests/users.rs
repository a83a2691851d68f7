//! Users: client-certificate users and token users, with and without rights.

use kube_test::{Error, TestEnv};

fn assert_forbidden(result: Result<String, Error>) {
    let stderr = match result {
        Err(Error::Kubectl { stderr, .. }) => stderr,
        other => format!("not a kubectl error: {other:?}"),
    };
    assert!(stderr.contains("forbidden"), "expected forbidden, got: {stderr}");
}

#[test]
fn cert_user_without_groups_is_forbidden() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let nobody = env.add_user_with_cert("nobody", &[] as &[&str])?;
    assert_forbidden(env.kubectl_as(&nobody, ["get", "configmaps", "-n", "default"]));

    let resp = env.raw_get_as(&nobody, "/api/v1/namespaces/default/configmaps")?;
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert!(resp.body.contains(r#"User \"nobody\" cannot list resource \"configmaps\""#), "{}", resp.body);
    Ok(())
}

#[test]
fn cert_user_gets_every_group() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let user = env.add_user_with_cert("many-groups", &["team-a", "team-b", "system:masters"])?;
    let who = env.kubectl_as(&user, ["auth", "whoami", "-o", "json"])?;
    for group in ["team-a", "team-b", "system:masters", "system:authenticated"] {
        assert!(who.contains(&format!("\"{group}\"")), "{group} missing in {who}");
    }
    // system:masters makes it an admin.
    let ns = env.kubectl_as(&user, ["get", "namespace", "default", "-o", "name"])?;
    assert_eq!(ns.trim(), "namespace/default");
    Ok(())
}

#[test]
fn token_users_from_the_builder() -> Result<(), Error> {
    let env = TestEnv::builder()
        .token_user("token-nobody", "nobody-token-123", &[] as &[&str])
        .token_user("token-viewer", "viewer-token-456", &["viewers"])
        .start()?;

    let nobody = env.token_user("token-nobody").ok_or(Error::ApiserverState("missing token user"))?;
    assert_eq!(nobody.token(), Some("nobody-token-123"));
    assert_forbidden(env.kubectl_as(nobody, ["get", "namespaces"]));
    let resp = env.raw_get_as(nobody, "/api/v1/namespaces")?;
    assert_eq!(resp.status, 403, "{}", resp.body);

    let viewer = env.token_user("token-viewer").ok_or(Error::ApiserverState("missing token user"))?;
    let who = env.kubectl_as(viewer, ["auth", "whoami", "-o", "json"])?;
    assert!(who.contains("\"viewers\"") && who.contains("token-viewer"), "{who}");

    // The default token admin can do everything, through kubectl and the raw helper.
    let admin = env.token_admin();
    assert_eq!(admin.name(), kube_test::TOKEN_ADMIN_USER);
    let ns = env.kubectl_as(admin, ["get", "namespace", "kube-system", "-o", "name"])?;
    assert_eq!(ns.trim(), "namespace/kube-system");
    assert_eq!(env.raw_get_as(admin, "/api/v1/namespaces")?.status, 200);
    assert!(admin.kubeconfig().yaml().contains("token:"));
    Ok(())
}

#[test]
fn invalid_user_names_are_rejected() -> Result<(), Error> {
    let env = TestEnv::shared()?;
    let err = env.add_user_with_cert("a,b", &[] as &[&str]).err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("invalid user name")));
    Ok(())
}
