//! A kubeconfig file of any bytes: parsing and resolving it gives a config or an error, never a
//! panic, a hang or unbounded memory.
#![no_main]

use kube_client::config::{KubeConfigOptions, Kubeconfig, KubeconfigSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(kubeconfig) = Kubeconfig::from_yaml(text) else { return };
    let source = KubeconfigSource::Kubeconfig(Box::new(kubeconfig));
    let _ = kube_client::Config::from_custom_kubeconfig(source, &KubeConfigOptions::default());
});
