// Command kubelet is a fake kubelet for tests: it serves the kubelet's streaming endpoints
// (exec, attach, port-forward) with upstream's server code from k8s.io/cri-streaming, and
// container logs, for "containers" that are plain local processes.
//
// The apiserver proxies `pods/exec`, `pods/attach`, `pods/portforward` and `pods/log` to the
// node of a pod at https://<node address>:<status.daemonEndpoints.kubeletEndpoint.Port>, so a
// Node pointing at 127.0.0.1 and this server's port makes those subresources work end to end.
//
// Routes (as the kubelet's):
//
//	/exec/{ns}/{pod}/{container}?command=...&input=1&output=1&error=1&tty=1
//	/attach/{ns}/{pod}/{container}?input=1&output=1&error=1&tty=1
//	/portForward/{ns}/{pod}
//	/containerLogs/{ns}/{pod}/{container}?follow&tailLines&timestamps&sinceSeconds&sinceTime&limitBytes&previous
//	/healthz
//
// Test control (not a kubelet API):
//
//	POST /fake/containers  {"namespace","pod","container","command":[...],"stdin":bool,"tty":bool}
//	     starts the container's main process (what attach and logs see); replaces a running one.
//	POST /fake/restart/{ns}/{pod}/{container}
//	     stops the main process, keeps its log as the previous one and starts it again.
//
// exec runs the command as a local process in a per-container directory. tty sessions get a
// real pseudo-terminal (github.com/creack/pty) and follow resize events. port-forward dials
// 127.0.0.1:<port>; the server also runs a TCP echo server on --echo-port for tests.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

const (
	idleTimeout           = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

func main() {
	listen := flag.String("listen", "127.0.0.1:10250", "address to serve HTTPS on")
	certFile := flag.String("tls-cert-file", "", "serving certificate (PEM)")
	keyFile := flag.String("tls-private-key-file", "", "serving key (PEM)")
	dir := flag.String("dir", "", "directory for the containers' working directories")
	echoPort := flag.Int("echo-port", 0, "port of a TCP echo server on 127.0.0.1 (0: none)")
	flag.Parse()
	if *certFile == "" || *keyFile == "" || *dir == "" {
		log.Fatal("--tls-cert-file, --tls-private-key-file and --dir are required")
	}
	if *echoPort != 0 {
		if err := startEcho(*echoPort); err != nil {
			log.Fatalf("echo server: %v", err)
		}
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("load the serving certificate: %v", err)
	}
	k := &kubelet{dir: *dir, containers: map[string]*container{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", k.serveExec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", k.serveAttach)
	mux.HandleFunc("/portForward/{ns}/{pod}", k.servePortForward)
	mux.HandleFunc("/containerLogs/{ns}/{pod}/{container}", k.serveLogs)
	mux.HandleFunc("POST /fake/containers", k.serveStart)
	mux.HandleFunc("POST /fake/restart/{ns}/{pod}/{container}", k.serveRestart)
	server := &http.Server{
		Addr:      *listen,
		Handler:   logRequests(mux),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
		// SPDY and WebSocket upgrades need HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	log.Printf("fake kubelet serving on https://%s", *listen)
	log.Fatal(server.ListenAndServeTLS("", ""))
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		next.ServeHTTP(w, r)
	})
}

// startEcho serves TCP on 127.0.0.1:port, writing back what it reads; after the peer's
// half-close it closes its side too.
func startEcho(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				log.Printf("echo accept: %v", err)
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}()
		}
	}()
	return nil
}

type kubelet struct {
	dir        string
	mu         sync.Mutex
	containers map[string]*container
}

func key(ns, pod, name string) string { return ns + "/" + pod + "/" + name }

func (k *kubelet) workDir(ns, pod, name string) (string, error) {
	d := filepath.Join(k.dir, "pods", ns+"_"+pod, name)
	return d, os.MkdirAll(d, 0o755)
}

func (k *kubelet) lookup(ns, pod, name string) *container {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.containers[key(ns, pod, name)]
}

func streamOptions(w http.ResponseWriter, r *http.Request) (*remotecommand.Options, bool) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return opts, true
}

func (k *kubelet) serveExec(w http.ResponseWriter, r *http.Request) {
	opts, ok := streamOptions(w, r)
	if !ok {
		return
	}
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "missing command", http.StatusBadRequest)
		return
	}
	dir, err := k.workDir(ns, pod, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	remotecommand.ServeExec(w, r, executor{dir: dir}, ns+"/"+pod, "", name, cmd, opts,
		idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (k *kubelet) serveAttach(w http.ResponseWriter, r *http.Request) {
	opts, ok := streamOptions(w, r)
	if !ok {
		return
	}
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	c := k.lookup(ns, pod, name)
	if c == nil {
		http.Error(w, fmt.Sprintf("container %s of pod %s/%s is not running", name, ns, pod), http.StatusNotFound)
		return
	}
	remotecommand.ServeAttach(w, r, c, ns+"/"+pod, "", name, opts,
		idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (k *kubelet) servePortForward(w http.ResponseWriter, r *http.Request) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ns, pod := r.PathValue("ns"), r.PathValue("pod")
	portforward.ServePortForward(w, r, forwarder{}, ns+"/"+pod, "", opts,
		idleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

// executor runs exec commands as local processes.
type executor struct{ dir string }

func (e executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader,
	out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration,
) error {
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = e.dir
	c.Env = append(os.Environ(), "HOME="+e.dir)
	var err error
	if tty {
		err = runTTY(c, in, out, resize)
	} else {
		err = runPiped(c, in, out, errw)
	}
	return exitError(err)
}

// exitError turns a process's non-zero exit into the error type ServeExec reports as
// NonZeroExitCode with the exit code.
func exitError(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return utilexec.CodeExitError{Err: err, Code: exitErr.ExitCode()}
	}
	return err
}

func runPiped(c *exec.Cmd, in io.Reader, out, errw io.Writer) error {
	if out != nil {
		c.Stdout = out
	}
	if errw != nil {
		c.Stderr = errw
	}
	var stdin io.WriteCloser
	if in != nil {
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			return err
		}
	}
	if err := c.Start(); err != nil {
		return err
	}
	if stdin != nil {
		// Not waited for: a command may exit without reading all of its input.
		go func() {
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	return c.Wait()
}

func runTTY(c *exec.Cmd, in io.Reader, out io.Writer, resize <-chan remotecommand.TerminalSize) error {
	size := &pty.Winsize{Rows: 24, Cols: 80}
	// The client sends its terminal size first; wait briefly for it.
	select {
	case s, ok := <-resize:
		if ok {
			size = &pty.Winsize{Rows: s.Height, Cols: s.Width}
		}
	case <-time.After(500 * time.Millisecond):
	}
	ptmx, err := pty.StartWithSize(c, size)
	if err != nil {
		return err
	}
	defer ptmx.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s, ok := <-resize:
				if !ok {
					return
				}
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: s.Height, Cols: s.Width})
			case <-done:
				return
			}
		}
	}()
	if in != nil {
		go func() { _, _ = io.Copy(ptmx, in) }()
	}
	copied := make(chan struct{})
	go func() {
		if out != nil {
			_, _ = io.Copy(out, ptmx)
		} else {
			_, _ = io.Copy(io.Discard, ptmx)
		}
		close(copied)
	}()
	err = c.Wait()
	// The output ends with EIO once the process and its children are gone.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return err
}

// forwarder forwards a pod port to the same port on 127.0.0.1.
type forwarder struct{}

func (forwarder) PortForward(ctx context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("pod %s: connect to port %d: %w", pod, port, err)
	}
	defer conn.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		errc <- err
	}()
	_, err = io.Copy(stream, conn)
	return err
}

type startRequest struct {
	Namespace string   `json:"namespace"`
	Pod       string   `json:"pod"`
	Container string   `json:"container"`
	Command   []string `json:"command"`
	Stdin     bool     `json:"stdin"`
	TTY       bool     `json:"tty"`
}

func (k *kubelet) serveStart(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Namespace == "" || req.Pod == "" || req.Container == "" || len(req.Command) == 0 {
		http.Error(w, "namespace, pod, container and command are required", http.StatusBadRequest)
		return
	}
	dir, err := k.workDir(req.Namespace, req.Pod, req.Container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	c := &container{spec: req, dir: dir}
	k.mu.Lock()
	old := k.containers[key(req.Namespace, req.Pod, req.Container)]
	k.containers[key(req.Namespace, req.Pod, req.Container)] = c
	k.mu.Unlock()
	if old != nil {
		old.stop()
	}
	if err := c.start(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (k *kubelet) serveRestart(w http.ResponseWriter, r *http.Request) {
	c := k.lookup(r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"))
	if c == nil {
		http.Error(w, "no such container", http.StatusNotFound)
		return
	}
	c.stop()
	if err := c.start(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, "restarted")
}

func (k *kubelet) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	c := k.lookup(ns, pod, name)
	if c == nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: no process", name, pod), http.StatusBadRequest)
		return
	}
	opts, err := parseLogOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.serveLogs(r.Context(), w, opts)
}
