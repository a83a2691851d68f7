//! Synthetic, realistic Pods: labels, annotations, managedFields, two containers and a status,
//! about 10.8 KB of JSON each (7.4 KB without managedFields).

use serde_json::{Value, json};

fn fields_v1_spec() -> Value {
    json!({
        "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}, "f:tier": {}, "f:team": {}, "f:version": {}},
                       "f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {}, "f:prometheus.io/scrape": {}, "f:prometheus.io/port": {}},
                       "f:ownerReferences": {".": {}, "k:{\"uid\":\"5d2c6e0e-3b7a-4b8e-9a57-1c2d3e4f5a6b\"}": {}}},
        "f:spec": {
            "f:containers": {
                "k:{\"name\":\"app\"}": {".": {}, "f:env": {".": {}, "k:{\"name\":\"LOG_LEVEL\"}": {".": {}, "f:name": {}, "f:value": {}}, "k:{\"name\":\"PORT\"}": {".": {}, "f:name": {}, "f:value": {}}, "k:{\"name\":\"POD_NAME\"}": {".": {}, "f:name": {}, "f:valueFrom": {".": {}, "f:fieldRef": {}}}},
                    "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {".": {}, "f:failureThreshold": {}, "f:httpGet": {".": {}, "f:path": {}, "f:port": {}, "f:scheme": {}}, "f:periodSeconds": {}},
                    "f:name": {}, "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                    "f:readinessProbe": {".": {}, "f:httpGet": {".": {}, "f:path": {}, "f:port": {}}}, "f:resources": {".": {}, "f:limits": {".": {}, "f:cpu": {}, "f:memory": {}}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}},
                    "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}, "f:volumeMounts": {".": {}, "k:{\"mountPath\":\"/etc/config\"}": {".": {}, "f:mountPath": {}, "f:name": {}}}},
                "k:{\"name\":\"sidecar\"}": {".": {}, "f:args": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {".": {}, "f:limits": {".": {}, "f:memory": {}}, "f:requests": {".": {}, "f:cpu": {}}}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}
            },
            "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {},
            "f:volumes": {".": {}, "k:{\"name\":\"config\"}": {".": {}, "f:configMap": {".": {}, "f:defaultMode": {}, "f:name": {}}, "f:name": {}}}
        }
    })
}

fn fields_v1_status() -> Value {
    json!({
        "f:status": {
            "f:conditions": {
                "k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"PodReadyToStartContainers\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}
            },
            "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {}, "f:podIPs": {".": {}, "k:{\"ip\":\"10.244.1.23\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}
        }
    })
}

fn condition(kind: &str) -> Value {
    json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-20T10:15:30Z"})
}

/// One Pod as JSON; `i` varies names, uids and addresses, `generation` the resourceVersion and a
/// label so updates differ.
pub fn pod(i: usize, generation: u64) -> Value {
    let name = format!("web-7d9f8b6c4d-{i:05x}");
    let node = format!("node-{:03}", i % 200);
    let ip = format!("10.{}.{}.{}", 244 + (i / 65536) % 10, (i / 256) % 256, i % 256);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": "web-7d9f8b6c4d-",
            "namespace": format!("team-{}", i % 20),
            "uid": format!("{:08x}-3b7a-4b8e-9a57-{:012x}", i, i * 7919),
            "resourceVersion": (1000 + generation * 100_000 + i as u64).to_string(),
            "creationTimestamp": "2026-11-20T10:15:27Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c4d", "tier": "frontend", "team": format!("team-{}", i % 20), "version": format!("v{generation}")},
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": "2026-11-19T08:00:00Z",
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090"
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c4d", "uid": "5d2c6e0e-3b7a-4b8e-9a57-1c2d3e4f5a6b", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-11-20T10:15:27Z", "fieldsType": "FieldsV1", "fieldsV1": fields_v1_spec()},
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-11-20T10:15:31Z", "fieldsType": "FieldsV1", "fieldsV1": fields_v1_status(), "subresource": "status"}
            ]
        },
        "spec": {
            "volumes": [
                {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                {"name": "kube-api-access-x7k2p", "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ], "defaultMode": 420}}
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/web/app:1.27.3",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "PORT", "value": "8080"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
                    ],
                    "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/config"},
                        {"name": "kube-api-access-x7k2p", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                    ],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"
                },
                {
                    "name": "sidecar",
                    "image": "registry.example.com/infra/log-shipper:4.2.0",
                    "args": ["--input=/var/log/app", "--output=stdout", "--format=json"],
                    "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
                    "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "nodeName": node,
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority"
        },
        "status": {
            "phase": "Running",
            "conditions": [condition("PodReadyToStartContainers"), condition("Initialized"), condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
            "hostIP": "172.18.0.4",
            "hostIPs": [{"ip": "172.18.0.4"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": "2026-11-20T10:15:27Z",
            "containerStatuses": [
                {"name": "app", "state": {"running": {"startedAt": "2026-11-20T10:15:29Z"}}, "lastState": {}, "ready": true, "restartCount": 0,
                 "image": "registry.example.com/web/app:1.27.3", "imageID": "registry.example.com/web/app@sha256:4c2a8f0e9b1d7c6a5e3f2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a",
                 "containerID": format!("containerd://{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15), "started": true},
                {"name": "sidecar", "state": {"running": {"startedAt": "2026-11-20T10:15:30Z"}}, "lastState": {}, "ready": true, "restartCount": 0,
                 "image": "registry.example.com/infra/log-shipper:4.2.0", "imageID": "registry.example.com/infra/log-shipper@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0",
                 "containerID": format!("containerd://{:064x}", i as u128 * 0x5851_f42d_4c95_7f2d), "started": true}
            ],
            "qosClass": "Burstable"
        }
    })
}

#[cfg(test)]
mod tests {}
