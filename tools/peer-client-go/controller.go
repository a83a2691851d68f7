// The controller scenario of `just bench-peers` with controller-runtime: a controller over the
// ConfigMaps of $BENCH_CTL_NS (cache restricted to it) whose reconcile records, for each
// stamp the runner writes (annotation bench.kube.rs/stamp, Unix nanoseconds), how long after
// the write it started. Prints first_pass_s once every object was reconciled, then `synced`,
// then the latency percentiles once $BENCH_CTL_CHURN stamps were seen (or after 60 s).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

const stampAnnotation = "bench.kube.rs/stamp"

type record struct {
	mu        sync.Mutex
	start     time.Time
	objects   int
	churn     int
	last      map[string]string
	latencies []float64
	synced    bool
	done      chan struct{}
}

func (r *record) reconciled(name, stamp string) {
	now := time.Now().UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, seen := r.last[name]
	r.last[name] = stamp
	if !seen {
		if len(r.last) == r.objects && !r.synced {
			r.synced = true
			fmt.Printf("first_pass_s=%.3f reconciles_per_s=%.0f\n", time.Since(r.start).Seconds(),
				float64(r.objects)/time.Since(r.start).Seconds())
			fmt.Println("synced")
		}
		return
	}
	if stamp != "" && stamp != prev {
		if at, err := strconv.ParseInt(stamp, 10, 64); err == nil {
			r.latencies = append(r.latencies, float64(now-at)/1e6)
			if len(r.latencies) == r.churn {
				close(r.done)
			}
		}
	}
}

func (r *record) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := append([]float64(nil), r.latencies...)
	sort.Float64s(l)
	pct := func(p float64) float64 {
		if len(l) == 0 {
			return 0
		}
		return l[int(p*float64(len(l)-1))]
	}
	fmt.Printf("latencies=%d p50_ms=%.3f p99_ms=%.3f\n", len(l), pct(0.50), pct(0.99))
}

type reconciler struct {
	client.Client
	rec *record
}

func (c *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, req.NamespacedName, &cm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	c.rec.reconciled(req.Name, cm.Annotations[stampAnnotation])
	return ctrl.Result{}, nil
}

func controller() {
	ns := os.Getenv("BENCH_CTL_NS")
	rec := &record{
		start:   time.Now(),
		objects: envInt("BENCH_CTL_OBJECTS", 1000),
		churn:   envInt("BENCH_CTL_CHURN", 1000),
		last:    map[string]string{},
		done:    make(chan struct{}),
	}
	cfg := config("protobuf")
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics: server.Options{BindAddress: "0"},
	})
	if err != nil {
		fail(err)
	}
	if err := ctrl.NewControllerManagedBy(mgr).For(&corev1.ConfigMap{}).Complete(&reconciler{mgr.GetClient(), rec}); err != nil {
		fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-rec.done:
		case <-time.After(120 * time.Second):
		}
		rec.report()
		cancel()
	}()
	if err := mgr.Start(ctx); err != nil {
		fail(err)
	}
}
