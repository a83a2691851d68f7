// peer-client-go: the client-go side of `just bench-peers`. One scenario per process, chosen by
// the first argument; the kubeconfig comes from $KUBECONFIG. It prints `key=value` lines that the
// runner (benches/src/bin/bench_peers.rs) reads; the runner measures the process from outside.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func config(contentType string) *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fail(err)
	}
	// The runner makes thousands of requests in a few seconds; no client-side throttling.
	cfg.QPS = -1
	if contentType == "json" {
		cfg.ContentType = "application/json"
		cfg.AcceptContentTypes = "application/json"
	} else {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	return cfg
}

func clientset(contentType string) kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(config(contentType))
	if err != nil {
		fail(err)
	}
	return cs
}

// steadyRSS is this process's resident memory now, in kB (VmRSS).
func steadyRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "0"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.Fields(line)[1]
		}
	}
	return "0"
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: peer-client-go list|list-json|list-meta|informer|watch|watch-json|watches|controller"))
	}
	ctx := context.Background()
	pods := gvr()
	switch os.Args[1] {
	case "list", "list-json":
		ct := "protobuf"
		if os.Args[1] == "list-json" {
			ct = "json"
		}
		list, err := clientset(ct).CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			fail(err)
		}
		fmt.Printf("items=%d\n", len(list.Items))
	case "list-meta":
		mc, err := metadata.NewForConfig(config("protobuf"))
		if err != nil {
			fail(err)
		}
		list, err := mc.Resource(pods).List(ctx, metav1.ListOptions{})
		if err != nil {
			fail(err)
		}
		fmt.Printf("items=%d\n", len(list.Items))
	case "informer":
		informer(ctx)
	case "watch", "watch-json":
		ct := "protobuf"
		if os.Args[1] == "watch-json" {
			ct = "json"
		}
		watch(ctx, ct)
	case "watches":
		watches(ctx)
	case "controller":
		controller()
	default:
		fail(fmt.Errorf("unknown scenario %q", os.Args[1]))
	}
}

func gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: "pods"}
}

// informer syncs a Pod informer (managedFields stripped by a transform, as client-go advises),
// then counts update notifications until BENCH_UPDATES have arrived.
func informer(ctx context.Context) {
	start := time.Now()
	want := int64(envInt("BENCH_UPDATES", 5000))
	strip := func(obj interface{}) (interface{}, error) {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		return obj, nil
	}
	factory := informers.NewSharedInformerFactoryWithOptions(clientset("protobuf"), 0, informers.WithTransform(strip))
	inf := factory.Core().V1().Pods().Informer()
	var updates atomic.Int64
	done := make(chan struct{})
	var synced atomic.Bool
	var absorbStart atomic.Int64
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, _ interface{}) {
			if !synced.Load() {
				return
			}
			n := updates.Add(1)
			if n == 1 {
				absorbStart.Store(time.Now().UnixNano())
			}
			if n == want {
				close(done)
			}
		},
	})
	if err != nil {
		fail(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		fail(fmt.Errorf("the pod informer did not sync"))
	}
	synced.Store(true)
	fmt.Printf("items=%d sync_ms=%d synced_rss_kb=%s\n", len(inf.GetStore().ListKeys()), time.Since(start).Milliseconds(), steadyRSS())
	fmt.Println("synced")
	<-done
	absorb := time.Since(time.Unix(0, absorbStart.Load()))
	fmt.Printf("absorb_ms=%d steady_rss_kb=%s\n", absorb.Milliseconds(), steadyRSS())
	close(stop)
}

// watch reads the ADDED events of a watch from resourceVersion 0 (the current state, from the
// API server's cache) into a map, and reports the rate.
func watch(ctx context.Context, ct string) {
	want := envInt("BENCH_PODS", 10000)
	w, err := clientset(ct).CoreV1().Pods("").Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		fail(err)
	}
	store := make(map[string]*corev1.Pod, want)
	var first time.Time
	for ev := range w.ResultChan() {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			fail(fmt.Errorf("unexpected watch event %v", ev.Type))
		}
		if first.IsZero() {
			first = time.Now()
		}
		pod.ManagedFields = nil
		store[pod.Namespace+"/"+pod.Name] = pod
		if len(store) == want {
			break
		}
	}
	w.Stop()
	secs := time.Since(first).Seconds()
	fmt.Printf("items=%d events_per_s=%.0f\n", len(store), float64(len(store))/secs)
}

// watches opens BENCH_WATCHES Pod watches, one per namespace bench-w-<i>, on one clientset,
// says so, and holds them for BENCH_HOLD_MS.
func watches(ctx context.Context) {
	n := envInt("BENCH_WATCHES", 200)
	cs := clientset("protobuf")
	for i := 0; i < n; i++ {
		if _, err := cs.CoreV1().Pods(fmt.Sprintf("bench-w-%d", i)).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"}); err != nil {
			fail(err)
		}
	}
	fmt.Printf("items=%d pid=%d\n", n, os.Getpid())
	fmt.Println("ready")
	time.Sleep(time.Duration(envInt("BENCH_HOLD_MS", 3000)) * time.Millisecond)
}
