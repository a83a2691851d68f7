//! [`TestEnv`]: one etcd and one kube-apiserver in a temporary directory, and its builder.

use std::{
    ffi::OsString,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rustls::ClientConfig;
use tempfile::TempDir;

use crate::{
    Binaries, Credentials, Error, FakeKubelet, Kubeconfig, RawResponse, Result, User,
    apiserver::{self, ApiserverConfig, ApiserverFiles},
    certs::Pki,
    etcd::{self, EtcdConfig},
    http::{self, Request},
    kubeconfig::write_private,
    supervise::Supervised,
    users::{
        self, ADMIN_USER, SYSTEM_MASTERS, TOKEN_ADMIN_USER, TokenUserSpec, validate_group, validate_user_name,
    },
};

/// Default limit for the control plane to become ready.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Set to keep every environment's temporary directory (see [`TestEnvBuilder::keep_dir`]).
pub const KEEP_DIR_VAR: &str = "KUBE_TEST_KEEP_DIR";
/// Timeout of single requests made by the built-in HTTPS helper.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often start-up is retried when a reserved port was taken in the meantime.
const START_ATTEMPTS: u32 = 3;

/// Configures and starts a [`TestEnv`].
///
/// ```no_run
/// use kube_test::TestEnv;
///
/// let env = TestEnv::builder()
///     .token_user("viewer", "viewer-token", &["viewers"])
///     .watch_cache(false)
///     .start()?;
/// println!("{}", env.server_url());
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .start() to start the environment"]
pub struct TestEnvBuilder {
    binaries: Option<Binaries>,
    token_users: Vec<TokenUserSpec>,
    watch_cache: bool,
    apiserver_args: Vec<OsString>,
    etcd_args: Vec<OsString>,
    startup_timeout: Duration,
    keep_dir: bool,
}

impl Default for TestEnvBuilder {
    fn default() -> Self {
        TestEnvBuilder {
            binaries: None,
            token_users: Vec::new(),
            watch_cache: true,
            apiserver_args: Vec::new(),
            etcd_args: Vec::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            keep_dir: std::env::var_os(KEEP_DIR_VAR).is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }
}

impl TestEnvBuilder {
    /// Uses these binaries instead of searching with [`Binaries::find`].
    pub fn binaries(mut self, binaries: Binaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// Adds a user that authenticates with a bearer token (`--token-auth-file`).
    ///
    /// The apiserver reads the token file only at start-up, so token users are declared here;
    /// get them back with [`TestEnv::token_user`]. A user named `kube-test-token-admin` in
    /// `system:masters` is always added.
    pub fn token_user(
        mut self,
        name: impl Into<String>,
        token: impl Into<String>,
        groups: &[impl AsRef<str>],
    ) -> Self {
        self.token_users.push(TokenUserSpec {
            name: name.into(),
            token: token.into(),
            groups: groups.iter().map(|g| g.as_ref().to_owned()).collect(),
        });
        self
    }

    /// Turns the apiserver's watch cache on (the default) or off (`--watch-cache`).
    ///
    /// With the cache on, watches are served from the apiserver's memory, which does not see
    /// etcd compactions: a watch from a resource version that is still in the cache keeps
    /// working after [`TestEnv::compact_etcd`], and one older than the cache's window gets
    /// `410 Gone` even without compaction. Turn it off to test how clients handle compaction
    /// by etcd itself.
    pub fn watch_cache(mut self, enabled: bool) -> Self {
        self.watch_cache = enabled;
        self
    }

    /// Adds a kube-apiserver flag (`--name=value`); it replaces a default flag of the same name.
    pub fn apiserver_arg(mut self, arg: impl Into<OsString>) -> Self {
        self.apiserver_args.push(arg.into());
        self
    }

    /// Adds an etcd flag.
    pub fn etcd_arg(mut self, arg: impl Into<OsString>) -> Self {
        self.etcd_args.push(arg.into());
        self
    }

    /// How long to wait for etcd and the apiserver to become ready (default 60 s); also used
    /// by [`TestEnv::start_apiserver`].
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Keeps the temporary directory (logs, kubeconfigs, etcd data) after the environment
    /// stops, for debugging. Servers are stopped all the same. The default is taken from the
    /// environment variable `KUBE_TEST_KEEP_DIR` (set and not `0` means keep).
    pub fn keep_dir(mut self, keep: bool) -> Self {
        self.keep_dir = keep;
        self
    }

    /// Starts etcd and kube-apiserver and waits until the apiserver is ready and the `default`
    /// namespace exists.
    pub fn start(self) -> Result<TestEnv> {
        let binaries = match &self.binaries {
            Some(b) => b.clone(),
            None => Binaries::find()?,
        };
        for spec in &self.token_users {
            spec.validate()?;
        }
        let mut attempt = 1;
        loop {
            match self.try_start(&binaries) {
                Err(e) if attempt < START_ATTEMPTS && is_port_conflict(&e) => {
                    tracing::warn!(attempt, error = %e, "a reserved port was taken; starting again");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn try_start(&self, binaries: &Binaries) -> Result<TestEnv> {
        let dir = tempfile::Builder::new()
            .prefix("kube-test-")
            .tempdir()
            .map_err(|e| Error::io("create the temporary directory in", std::env::temp_dir(), e))?;
        // A kept directory is kept from the start, so that the logs of a failed start survive.
        let (dir, root) = if self.keep_dir {
            let root = dir.keep();
            (None, root)
        } else {
            let root = dir.path().to_path_buf();
            (Some(dir), root)
        };
        let kept = dir.is_none();
        match self.start_in(binaries, root.clone(), dir) {
            Ok(env) => Ok(env),
            Err(e) if kept => {
                tracing::info!(dir = %root.display(), "kube-test control plane failed to start; kept its directory");
                Err(e)
            }
            // The servers are stopped and the directory is gone by now; the errors carry the
            // tails of the logs, but must not send anyone looking for the removed files.
            Err(Error::Timeout { what, waited, detail }) => Err(Error::Timeout {
                what,
                waited,
                detail: format!(
                    "{detail}\n(the logs were removed with the temporary directory; set {KEEP_DIR_VAR}=1 to keep them)"
                ),
            }),
            Err(e) => Err(e),
        }
    }

    /// Starts the control plane in `root`; `dir` is the [`TempDir`] owning `root` unless kept.
    fn start_in(&self, binaries: &Binaries, root: PathBuf, dir: Option<TempDir>) -> Result<TestEnv> {
        let started = Instant::now();
        let pki = Pki::generate(ADMIN_USER, &[SYSTEM_MASTERS.to_owned()])?;

        let mut token_users = vec![TokenUserSpec {
            name: TOKEN_ADMIN_USER.into(),
            token: users::random_token(),
            groups: vec![SYSTEM_MASTERS.into()],
        }];
        token_users.extend(self.token_users.iter().cloned());

        let files = write_files(&root, &pki, &token_users)?;
        let [etcd_client, etcd_peer, apiserver_port] = free_ports::<3>()?;

        let etcd_config = EtcdConfig {
            name: format!("kube-test-{}", &users::random_token()[..12]),
            binary: binaries.etcd.clone(),
            data_dir: etcd::data_dir(&root),
            client_port: etcd_client,
            peer_port: etcd_peer,
            log: root.join("etcd.log"),
            cleanup: (!self.keep_dir).then(|| root.clone()),
            stop_after: root.join("stop-before-etcd.pids"),
            extra_args: self.etcd_args.clone(),
        };
        let apiserver_config = ApiserverConfig {
            binary: binaries.kube_apiserver.clone(),
            port: apiserver_port,
            etcd_url: etcd_config.client_url(),
            files,
            log: root.join("kube-apiserver.log"),
            watch_cache: self.watch_cache,
            extra_args: self.apiserver_args.clone(),
        };
        tracing::debug!(dir = %root.display(), etcd_client, apiserver_port, "starting control plane");

        let admin_credentials = Credentials::ClientCertificate {
            cert_pem: pki.admin.cert_pem.clone(),
            key_pem: pki.admin.key_pem.clone(),
        };
        let admin_tls = http::tls_config(&pki.serving_ca.cert_pem, &admin_credentials)?;

        // The apiserver retries its etcd connection, so both start at once; etcd's health is
        // still checked first for a clearer error when etcd is the one that fails.
        let mut etcd_server = etcd_config.spawn()?;
        let mut apiserver_server = apiserver_config.spawn()?;
        write_stop_first(&etcd_config, &apiserver_server)?;
        let remaining = |started: Instant| self.startup_timeout.saturating_sub(started.elapsed());
        etcd::wait_healthy(&mut etcd_server, etcd_client, remaining(started))?;
        // The ports were free when reserved, but were released before etcd bound them: make sure
        // the healthy etcd is ours and not another environment's that took the port.
        etcd::verify_identity(etcd_client, &etcd_config.name)?;
        let etcd_ready = started.elapsed();
        apiserver::wait_ready(&mut apiserver_server, apiserver_port, &admin_tls, remaining(started))?;
        // etcd may only now have failed to bind its peer or client port.
        etcd_server.check_running()?;
        etcd::verify_identity(etcd_client, &etcd_config.name)?;

        let server = format!("https://127.0.0.1:{apiserver_port}");
        let ca = &pki.serving_ca.cert_pem;
        let admin = User {
            name: ADMIN_USER.into(),
            groups: vec![SYSTEM_MASTERS.into()],
            kubeconfig: Kubeconfig::write(
                root.join("admin.kubeconfig"),
                &server,
                ca,
                ADMIN_USER,
                &admin_credentials,
            )?,
            credentials: admin_credentials,
        };
        let users_dir = root.join("users");
        std::fs::create_dir_all(&users_dir).map_err(|e| Error::io("create the directory", &users_dir, e))?;
        let token_users = token_users
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let credentials = Credentials::Token(spec.token);
                let path = users_dir.join(format!("{}-{i}.kubeconfig", file_safe(&spec.name)));
                Ok(User {
                    kubeconfig: Kubeconfig::write(path, &server, ca, &spec.name, &credentials)?,
                    name: spec.name,
                    groups: spec.groups,
                    credentials,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let startup = started.elapsed();
        tracing::info!(
            ?startup,
            ?etcd_ready,
            server = %server,
            dir = %root.display(),
            "kube-test control plane is ready"
        );
        Ok(TestEnv {
            apiserver: Mutex::new(Some(apiserver_server)),
            etcd: Mutex::new(Some(etcd_server)),
            root,
            dir,
            binaries: binaries.clone(),
            pki,
            etcd_config,
            apiserver_config,
            admin_tls,
            admin,
            token_users,
            next_id: AtomicU64::new(0),
            startup,
            startup_timeout: self.startup_timeout,
            kubelet: OnceLock::new(),
            kubelet_start: Mutex::new(()),
        })
    }
}

/// A running etcd and kube-apiserver on loopback ports, in their own temporary directory.
///
/// Dropping it stops both servers (SIGTERM, then SIGKILL after a grace period) and removes the
/// directory. The servers also stop when the test process dies in any way, even by SIGKILL:
/// each runs under a supervisor that watches a pipe from this process (see the crate docs).
///
/// All methods take `&self`, so one environment can be shared by the tests of a test binary
/// through [`TestEnv::shared`].
///
/// ```no_run
/// use kube_test::TestEnv;
///
/// let env = TestEnv::shared()?;
/// let ns = env.create_unique_namespace("example")?;
/// env.kubectl(["create", "configmap", "cm", "-n", &ns, "--from-literal=k=v"])?;
/// let json = env.kubectl(["get", "configmap", "cm", "-n", &ns, "-o", "json"])?;
/// assert!(json.contains(r#""k": "v""#));
/// # Ok::<(), kube_test::Error>(())
/// ```
pub struct TestEnv {
    // Servers first: they are stopped before the directory is removed.
    pub(crate) apiserver: Mutex<Option<Supervised>>,
    pub(crate) etcd: Mutex<Option<Supervised>>,
    pub(crate) root: PathBuf,
    pub(crate) dir: Option<TempDir>,
    pub(crate) binaries: Binaries,
    pub(crate) pki: Pki,
    pub(crate) etcd_config: EtcdConfig,
    pub(crate) apiserver_config: ApiserverConfig,
    pub(crate) admin_tls: Arc<ClientConfig>,
    pub(crate) admin: User,
    pub(crate) token_users: Vec<User>,
    pub(crate) next_id: AtomicU64,
    pub(crate) startup: Duration,
    pub(crate) startup_timeout: Duration,
    pub(crate) kubelet: OnceLock<FakeKubelet>,
    /// Held while the fake kubelet starts, so that only one starts.
    pub(crate) kubelet_start: Mutex<()>,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("dir", &self.root)
            .field("server", &self.server_url())
            .field("etcd", &self.etcd_url())
            .finish_non_exhaustive()
    }
}

/// How a shared environment's start ended, kept for every later caller.
type Started = std::result::Result<TestEnv, Arc<Error>>;

static SHARED: OnceLock<Started> = OnceLock::new();

/// The shared environments with feature gates, one per distinct `--feature-gates` value.
static SHARED_GATED: Mutex<Vec<(String, &'static Started)>> = Mutex::new(Vec::new());

fn shared_result(started: &'static Started) -> Result<&'static TestEnv> {
    match started {
        Ok(env) => Ok(env),
        Err(e) => Err(Error::Shared(e.clone())),
    }
}

impl TestEnv {
    /// A builder with the defaults.
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder::default()
    }

    /// Starts an environment with the defaults; the same as `TestEnv::builder().start()`.
    pub fn start() -> Result<TestEnv> {
        Self::builder().start()
    }

    /// The environment shared by all tests of this process, started on first use.
    ///
    /// Tests of one test binary run as threads of one process, so they share one control plane
    /// and should each work in their own namespace ([`TestEnv::create_unique_namespace`]).
    /// It is never dropped: its servers stop and its directory is removed by their supervisors
    /// when the process exits. Tests that stop or restart the apiserver should use their own
    /// environment from [`TestEnv::builder`] instead.
    ///
    /// ```no_run
    /// #[test]
    /// fn lists_namespaces() -> Result<(), kube_test::Error> {
    ///     let env = kube_test::TestEnv::shared()?;
    ///     let out = env.kubectl(["get", "namespaces"])?;
    ///     assert!(out.contains("default"));
    ///     Ok(())
    /// }
    /// ```
    pub fn shared() -> Result<&'static TestEnv> {
        shared_result(SHARED.get_or_init(|| TestEnv::start().map_err(Arc::new)))
    }

    /// Like [`TestEnv::shared`], for an apiserver started with `--feature-gates=<gates>`: one
    /// environment per distinct `gates`, started on first use and shared by the tests of this
    /// process that ask for the same gates (a start in progress makes the others wait).
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared_with_feature_gates("ShardedListAndWatch=true")?;
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn shared_with_feature_gates(gates: &str) -> Result<&'static TestEnv> {
        let mut started = SHARED_GATED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, env)) = started.iter().find(|(g, _)| g == gates) {
            return shared_result(env);
        }
        let env =
            TestEnv::builder().apiserver_arg(format!("--feature-gates={gates}")).start().map_err(Arc::new);
        let env: &'static Started = Box::leak(Box::new(env));
        started.push((gates.to_owned(), env));
        shared_result(env)
    }

    /// The apiserver's URL, `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_config.port)
    }

    /// The apiserver's secure port on 127.0.0.1.
    pub fn apiserver_port(&self) -> u16 {
        self.apiserver_config.port
    }

    /// etcd's client port on 127.0.0.1.
    pub fn etcd_port(&self) -> u16 {
        self.etcd_config.client_port
    }

    /// etcd's client URL, `http://127.0.0.1:<port>`.
    pub fn etcd_url(&self) -> String {
        self.etcd_config.client_url()
    }

    /// PEM of the CA that signed the apiserver's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.pki.serving_ca.cert_pem
    }

    /// PEM of the CA that the apiserver trusts for client certificates.
    pub fn client_ca_pem(&self) -> &str {
        &self.pki.client_ca.cert_pem
    }

    /// PEM of the admin client certificate (`CN=kube-test-admin`, `O=system:masters`).
    pub fn admin_cert_pem(&self) -> &str {
        &self.pki.admin.cert_pem
    }

    /// PEM (PKCS#8) of the admin client certificate's private key.
    pub fn admin_key_pem(&self) -> &str {
        &self.pki.admin.key_pem
    }

    /// The admin kubeconfig (client certificate in `system:masters`).
    pub fn kubeconfig(&self) -> &Kubeconfig {
        &self.admin.kubeconfig
    }

    /// The admin user behind [`TestEnv::kubeconfig`].
    pub fn admin(&self) -> &User {
        &self.admin
    }

    /// The token user `kube-test-token-admin` in `system:masters`.
    pub fn token_admin(&self) -> &User {
        // The first token user is always the token admin.
        self.token_users.first().unwrap_or(&self.admin)
    }

    /// A token user declared with [`TestEnvBuilder::token_user`] (or `kube-test-token-admin`).
    pub fn token_user(&self, name: &str) -> Option<&User> {
        self.token_users.iter().find(|u| u.name == name)
    }

    /// The temporary directory holding certificates, kubeconfigs, logs and etcd's data.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The apiserver's log file.
    pub fn apiserver_log(&self) -> &Path {
        &self.apiserver_config.log
    }

    /// etcd's log file.
    pub fn etcd_log(&self) -> &Path {
        &self.etcd_config.log
    }

    /// The binaries in use.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// How long [`TestEnvBuilder::start`] took until the apiserver was ready.
    pub fn startup_duration(&self) -> Duration {
        self.startup
    }

    /// The apiserver's process id, while it runs.
    pub fn apiserver_pid(&self) -> Option<u32> {
        lock(&self.apiserver).as_ref().map(Supervised::pid)
    }

    /// etcd's process id.
    pub fn etcd_pid(&self) -> Option<u32> {
        lock(&self.etcd).as_ref().map(Supervised::pid)
    }

    /// Process ids of the `sh` supervisors of etcd and the apiserver (while running).
    pub fn supervisor_pids(&self) -> Vec<u32> {
        [&self.etcd, &self.apiserver]
            .iter()
            .filter_map(|m| lock(m).as_ref().map(Supervised::supervisor_pid))
            .collect()
    }

    /// Stops the apiserver (SIGTERM, SIGKILL after 5 s). etcd and its data stay. Does nothing
    /// if it is not running.
    pub fn stop_apiserver(&self) -> Result<()> {
        if let Some(mut server) = lock(&self.apiserver).take() {
            server.stop();
        }
        Ok(())
    }

    /// Starts the apiserver again with the same port, certificates, tokens and etcd, and waits
    /// until it is ready.
    pub fn start_apiserver(&self) -> Result<()> {
        let mut slot = lock(&self.apiserver);
        if slot.is_some() {
            return Err(Error::ApiserverState("already running"));
        }
        let started = Instant::now();
        let port = self.apiserver_config.port;
        let mut server = self.apiserver_config.spawn()?;
        write_stop_first(&self.etcd_config, &server)?;
        apiserver::wait_ready(&mut server, port, &self.admin_tls, self.startup_timeout).map_err(
            |e| match e {
                Error::ExitedEarly { tail, .. } if tail.contains(ADDRESS_IN_USE) => Error::PortConflict {
                    name: "kube-apiserver".into(),
                    port,
                    detail: format!(
                        "the port was taken after the apiserver stopped, and it can only restart on the \
                         same port (kubeconfigs and clients use it); last lines of its log:\n{tail}"
                    ),
                },
                other => other,
            },
        )?;
        tracing::info!(elapsed = ?started.elapsed(), "kube-apiserver restarted");
        *slot = Some(server);
        Ok(())
    }

    /// Stops and starts the apiserver; objects in etcd survive.
    pub fn restart_apiserver(&self) -> Result<()> {
        self.stop_apiserver()?;
        self.start_apiserver()
    }

    /// The fake kubelet, started on first use, with its Node registered (see
    /// [`FakeKubelet`]): Pods made by [`FakeKubelet::run_pod`] support exec, attach,
    /// port-forward and logs through the apiserver.
    ///
    /// Needs the `fake-kubelet` binary, which `tools/controlplane/build.sh` builds next to
    /// kube-apiserver (found like the other binaries, see [`find_binary`](crate::find_binary)).
    pub fn kubelet(&self) -> Result<&FakeKubelet> {
        if let Some(kubelet) = self.kubelet.get() {
            return Ok(kubelet);
        }
        let _starting = lock(&self.kubelet_start);
        if let Some(kubelet) = self.kubelet.get() {
            return Ok(kubelet);
        }
        let kubelet = FakeKubelet::start(self)?;
        Ok(self.kubelet.get_or_init(|| kubelet))
    }

    /// Compacts etcd's history at its current revision and returns that revision.
    ///
    /// Afterwards etcd rejects reads and watches at older revisions, so watches from older
    /// resource versions get `410 Gone` (see [`TestEnvBuilder::watch_cache`] for the
    /// apiserver's cache in between).
    pub fn compact_etcd(&self) -> Result<i64> {
        etcd::compact(self.etcd_config.client_port)
    }

    /// A GET as the admin user through the built-in HTTPS helper.
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// assert_eq!(env.raw_get("/readyz")?.status, 200);
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn raw_get(&self, path: &str) -> Result<RawResponse> {
        self.raw_request(&self.admin, Request::get(path))
    }

    /// A GET as `user`.
    pub fn raw_get_as(&self, user: &User, path: &str) -> Result<RawResponse> {
        self.raw_request(user, Request::get(path))
    }

    /// Any request as `user`; `content_type` applies to `body`.
    pub fn raw_request_as(
        &self,
        user: &User,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<RawResponse> {
        self.raw_request(user, Request::with_body(method, path, content_type, body))
    }

    pub(crate) fn raw_request<'a>(&self, user: &'a User, mut req: Request<'a>) -> Result<RawResponse> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.apiserver_config.port));
        let custom;
        let tls = match &user.credentials {
            _ if std::ptr::eq(user, &self.admin) => &self.admin_tls,
            Credentials::Token(token) => {
                req.bearer = Some(token);
                custom = http::tls_config(self.ca_pem(), &user.credentials)?;
                &custom
            }
            Credentials::ClientCertificate { .. } => {
                custom = http::tls_config(self.ca_pem(), &user.credentials)?;
                &custom
            }
        };
        http::https(addr, tls, req, REQUEST_TIMEOUT)
    }

    /// Makes a user with a client certificate signed by the client CA (`CN=name`, one `O=` per
    /// group) and a kubeconfig for it. The user has no rights until RBAC grants some (the
    /// group `system:masters` grants all).
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// let nobody = env.add_user_with_cert("nobody", &[] as &[&str])?;
    /// let err = env.kubectl_as(&nobody, ["get", "pods"]).unwrap_err();
    /// assert!(err.to_string().contains("forbidden"));
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn add_user_with_cert(&self, name: &str, groups: &[impl AsRef<str>]) -> Result<User> {
        validate_user_name(name)?;
        let groups: Vec<String> = groups.iter().map(|g| g.as_ref().to_owned()).collect();
        for g in &groups {
            validate_group(g)?;
        }
        let ck = self.pki.client_ca.issue_client(name, &groups)?;
        let credentials = Credentials::ClientCertificate { cert_pem: ck.cert_pem, key_pem: ck.key_pem };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let path = self.root.join("users").join(format!("{}-cert-{id}.kubeconfig", file_safe(name)));
        let kubeconfig = Kubeconfig::write(path, &self.server_url(), self.ca_pem(), name, &credentials)?;
        Ok(User { name: name.to_owned(), groups, credentials, kubeconfig })
    }

    /// A namespace name that no other call in this process returns: the prefix (made
    /// DNS-safe), a counter and a random suffix, e.g. `configmaps-3-k2x9f`.
    pub fn unique_namespace_name(&self, prefix: &str) -> String {
        let mut clean: String = prefix
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_alphanumeric() { c } else { '-' }
            })
            .collect();
        clean.truncate(40);
        let clean = clean.trim_matches('-');
        let clean = if clean.is_empty() { "test" } else { clean };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let suffix: String = users::random_token().chars().take(5).collect();
        format!("{clean}-{id}-{suffix}")
    }

    /// Creates a namespace (as the admin).
    pub fn create_namespace(&self, name: &str) -> Result<()> {
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": name },
        })
        .to_string();
        let path = "/api/v1/namespaces";
        let resp = self.raw_request(
            &self.admin,
            Request::with_body("POST", path, "application/json", body.as_bytes()),
        )?;
        if resp.status != 201 {
            return Err(Error::UnexpectedStatus {
                method: "POST".into(),
                path: path.into(),
                status: resp.status,
                body: apiserver::shorten(&resp.body, 2000),
            });
        }
        Ok(())
    }

    /// Creates a namespace with a [unique name](TestEnv::unique_namespace_name) and returns
    /// the name.
    pub fn create_unique_namespace(&self, prefix: &str) -> Result<String> {
        let name = self.unique_namespace_name(prefix);
        self.create_namespace(&name)?;
        Ok(name)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // The kubelet's supervisor stops it when dropped.
        drop(self.kubelet.take());
        if let Some(mut server) = lock(&self.apiserver).take() {
            server.stop();
        }
        if let Some(mut server) = lock(&self.etcd).take() {
            server.stop();
        }
        tracing::debug!(dir = %self.root.display(), kept = self.dir.is_none(), "kube-test control plane stopped");
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `N` distinct free ports on 127.0.0.1 (reserved together, then released).
pub(crate) fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let mut listeners = Vec::with_capacity(N);
    for _ in 0..N {
        listeners.push(TcpListener::bind(("127.0.0.1", 0)).map_err(Error::FreePort)?);
    }
    let mut ports = [0u16; N];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr().map_err(Error::FreePort)?.port();
    }
    Ok(ports)
}

/// Tells etcd's supervisor to let the apiserver stop first if the test process dies: the
/// apiserver's shutdown stalls for its whole grace period when etcd is already gone.
fn write_stop_first(etcd: &EtcdConfig, apiserver: &Supervised) -> Result<()> {
    let path = &etcd.stop_after;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", apiserver.pid())).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
}

/// What a server logs when its port is taken.
const ADDRESS_IN_USE: &str = "address already in use";

fn is_port_conflict(e: &Error) -> bool {
    match e {
        Error::ExitedEarly { tail, .. } => tail.contains(ADDRESS_IN_USE),
        Error::PortConflict { .. } => true,
        _ => false,
    }
}

/// A name made safe for a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect()
}

/// Writes the PKI and the token file and returns their paths for the apiserver.
fn write_files(root: &Path, pki: &Pki, token_users: &[TokenUserSpec]) -> Result<ApiserverFiles> {
    let pki_dir = root.join("pki");
    let cert_dir = root.join("apiserver-certs");
    for d in [&pki_dir, &cert_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io("create the directory", d, e))?;
    }
    let files = ApiserverFiles {
        cert_dir,
        tls_cert: pki_dir.join("apiserver.crt"),
        tls_key: pki_dir.join("apiserver.key"),
        client_ca: pki_dir.join("client-ca.crt"),
        service_account_key: pki_dir.join("service-account.key"),
        service_account_pub: pki_dir.join("service-account.pub"),
        token_file: root.join("tokens.csv"),
    };
    let contents: [(&PathBuf, &str); 7] = [
        (&pki_dir.join("ca.crt"), &pki.serving_ca.cert_pem),
        (&files.tls_cert, &pki.serving.cert_pem),
        (&files.tls_key, &pki.serving.key_pem),
        (&files.client_ca, &pki.client_ca.cert_pem),
        (&files.service_account_key, &pki.service_account_key_pem),
        (&files.service_account_pub, &pki.service_account_pub_pem),
        (&files.token_file, &users::token_file(token_users)),
    ];
    for (path, text) in contents {
        write_private(path, text)?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() -> Result<()> {
        let [a, b, c] = free_ports()?;
        assert!(a != b && b != c && a != c);
        Ok(())
    }

    #[test]
    fn file_safe_replaces_odd_characters() {
        assert_eq!(file_safe("system:serviceaccount:a/b"), "system_serviceaccount_a_b");
    }

    #[test]
    fn port_conflicts_are_recognised() {
        let e = Error::ExitedEarly {
            name: "etcd".into(),
            status: "exit code 1".into(),
            log: "x".into(),
            tail: "listen tcp 127.0.0.1:1: bind: address already in use".into(),
        };
        assert!(is_port_conflict(&e));
        let e = Error::PortConflict { name: "etcd".into(), port: 1, detail: "x".into() };
        assert!(is_port_conflict(&e));
        let e = Error::ApiserverState("x");
        assert!(!is_port_conflict(&e));
    }
}
