//! Where the cluster is and who the client is: kubeconfig files, in-cluster service accounts.
