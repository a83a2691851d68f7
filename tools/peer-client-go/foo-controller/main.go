// The Foo controller of examples/src/foo.rs written with controller-runtime, for `just size` and
// `just bench-cold-build`: it watches every Foo (clux.dev/v1) and the ConfigMaps it owns
// (selected by their managed-by label), keeps a ConfigMap foo-<name> in line with each Foo's
// spec under a finalizer, records Events, and reports a Ready condition. Like ours, it expects
// the CRD installed beforehand (`cargo run -p examples --example foo_crd | kubectl apply -f -`),
// logs at a plain level ($LOG_LEVEL: debug, info, warn, error; info by default), and with
// --leader-elect campaigns for the Lease foo-controller in $POD_NAMESPACE (else default).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	leaderElect := flag.Bool("leader-elect", false, "elect a leader on the Lease foo-controller; only the leader reconciles")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	logger := logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := addToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	namespace := os.Getenv("POD_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       server.Options{BindAddress: "0"},
		LeaderElection:                *leaderElect,
		LeaderElectionID:              controllerName,
		LeaderElectionNamespace:       namespace,
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(labels.Set{managedBy: controllerName})},
			},
		},
	})
	if err != nil {
		return err
	}
	// Fail early, and clearly, when the CRD is missing, rather than wait for a cache to sync.
	err = mgr.GetAPIReader().List(context.Background(), &FooList{}, client.Limit(1))
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("the Foo CRD (foos.%s) is not installed: `cargo run -p examples --example foo_crd | kubectl apply -f -`", groupVersion.Group)
	} else if err != nil {
		return err
	}
	r := &reconciler{Client: mgr.GetClient(), events: mgr.GetEventRecorder(controllerName)}
	if err := ctrl.NewControllerManagedBy(mgr).For(&Foo{}).Owns(&corev1.ConfigMap{}).Complete(r); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
