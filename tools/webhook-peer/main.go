// webhook-peer: a controller-runtime webhook server with one trivial validating handler that
// allows everything, for `just bench-webhook` to measure beside kube-webhook.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func main() {
	certDir := flag.String("cert-dir", "", "directory holding tls.crt and tls.key")
	port := flag.Int("port", 9443, "port to listen on (127.0.0.1)")
	flag.Parse()

	server := webhook.NewServer(webhook.Options{
		Host:     "127.0.0.1",
		Port:     *port,
		CertDir:  *certDir,
		CertName: "tls.crt",
		KeyName:  "tls.key",
	})
	allow := admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return admission.Allowed("")
	})
	server.Register("/validate", &webhook.Admission{Handler: allow})

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	fmt.Println("serving")
	if err := server.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
