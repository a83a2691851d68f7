//! A real control plane (etcd and kube-apiserver) for tests, like controller-runtime's envtest.
