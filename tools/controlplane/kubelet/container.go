package main

// A container's main process: what attach connects to and what logs show.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/creack/pty"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

type logLine struct {
	at     time.Time
	stream string // "stdout" or "stderr"
	text   []byte // with its newline, if it had one
}

type container struct {
	spec startRequest
	dir  string

	mu       sync.Mutex
	changed  *sync.Cond
	run      int
	lines    []logLine // current run
	previous []logLine // run before the last restart
	running  bool
	stdin    io.WriteCloser
	ptmx     *os.File
	cmd      *exec.Cmd
	exited   chan struct{}
	attached map[int]*attachment
	nextID   int
}

type attachment struct {
	out, err io.Writer
}

func (c *container) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed == nil {
		c.changed = sync.NewCond(&c.mu)
		c.attached = map[int]*attachment{}
	}
	if c.run > 0 {
		c.previous = c.lines
		c.lines = nil
	}
	c.run++
	cmd := exec.Command(c.spec.Command[0], c.spec.Command[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "HOME="+c.dir)
	exited := make(chan struct{})
	var readers sync.WaitGroup
	if c.spec.TTY {
		ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
		if err != nil {
			return err
		}
		c.ptmx, c.stdin = ptmx, ptmx
		readers.Add(1)
		go c.pump(ptmx, "stdout", &readers)
	} else {
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		if c.spec.Stdin {
			if c.stdin, err = cmd.StdinPipe(); err != nil {
				return err
			}
		} else {
			c.stdin = nil
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		readers.Add(2)
		go c.pump(stdout, "stdout", &readers)
		go c.pump(stderr, "stderr", &readers)
	}
	c.cmd, c.exited, c.running = cmd, exited, true
	run := c.run
	go func() {
		readers.Wait()
		_ = cmd.Wait()
		c.mu.Lock()
		if c.run == run {
			c.running = false
		}
		c.changed.Broadcast()
		c.mu.Unlock()
		close(exited)
	}()
	return nil
}

// stop kills the main process and waits until it is gone.
func (c *container) stop() {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	if c.ptmx != nil {
		_ = c.ptmx.Close()
	}
	<-exited
}

// pump reads one output stream of the main process into the log and to attached clients.
func (c *container) pump(r io.Reader, stream string, done *sync.WaitGroup) {
	defer done.Done()
	buf := make([]byte, 32*1024)
	var partial []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			c.mu.Lock()
			for _, a := range c.attached {
				w := a.out
				if stream == "stderr" {
					w = a.err
				}
				if w != nil {
					_, _ = w.Write(chunk)
				}
			}
			partial = append(partial, chunk...)
			for {
				i := indexByte(partial, '\n')
				if i < 0 {
					break
				}
				line := append([]byte(nil), partial[:i+1]...)
				c.lines = append(c.lines, logLine{at: time.Now(), stream: stream, text: line})
				partial = partial[i+1:]
			}
			c.changed.Broadcast()
			c.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	if len(partial) > 0 {
		c.mu.Lock()
		c.lines = append(c.lines, logLine{at: time.Now(), stream: stream, text: partial})
		c.changed.Broadcast()
		c.mu.Unlock()
	}
}

func indexByte(b []byte, x byte) int {
	for i, v := range b {
		if v == x {
			return i
		}
	}
	return -1
}

// AttachContainer connects a client to the main process: its output goes to the client from
// now on, the client's input to the process's stdin. It ends when the process exits, the
// client's input ends, or the client goes away.
func (c *container) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser,
	_ bool, resize <-chan remotecommand.TerminalSize,
) error {
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return fmt.Errorf("container %s is not running", c.spec.Container)
	}
	id := c.nextID
	c.nextID++
	a := &attachment{}
	if out != nil {
		a.out = out
	}
	if errw != nil {
		a.err = errw
	}
	c.attached[id] = a
	stdin, ptmx, exited := c.stdin, c.ptmx, c.exited
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.attached, id)
		c.mu.Unlock()
	}()
	inputDone := make(chan struct{})
	if in != nil && stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, in)
			close(inputDone)
		}()
	}
	for {
		select {
		case s, ok := <-resize:
			if !ok {
				resize = nil
				continue
			}
			if ptmx != nil {
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: s.Height, Cols: s.Width})
			}
		case <-exited:
			return nil
		case <-inputDone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

type logOptions struct {
	follow     bool
	timestamps bool
	previous   bool
	tail       int // -1: all
	since      time.Time
	limitBytes int64 // 0: no limit
	stream     string
}

func parseLogOptions(r *http.Request) (logOptions, error) {
	q := r.URL.Query()
	o := logOptions{tail: -1, stream: "All"}
	o.follow = q.Get("follow") == "true"
	o.timestamps = q.Get("timestamps") == "true"
	o.previous = q.Get("previous") == "true"
	if s := q.Get("stream"); s != "" {
		o.stream = s
	}
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return o, fmt.Errorf("tailLines: %v", err)
		}
		o.tail = n
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return o, fmt.Errorf("sinceSeconds: %v", err)
		}
		o.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return o, fmt.Errorf("sinceTime: %v", err)
		}
		o.since = t
	}
	if s := q.Get("limitBytes"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return o, fmt.Errorf("limitBytes: %v", err)
		}
		o.limitBytes = n
	}
	return o, nil
}

func (o logOptions) wants(l logLine) bool {
	if !o.since.IsZero() && l.at.Before(o.since) {
		return false
	}
	switch o.stream {
	case "Stdout":
		return l.stream == "stdout"
	case "Stderr":
		return l.stream == "stderr"
	}
	return true
}

// serveLogs writes the log like the kubelet: one line per output line, optionally prefixed by
// an RFC 3339 timestamp; with follow it keeps writing until the process exits.
func (c *container) serveLogs(ctx context.Context, w http.ResponseWriter, o logOptions) {
	c.mu.Lock()
	if o.previous && c.run < 2 {
		c.mu.Unlock()
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", c.spec.Container, c.spec.Pod), http.StatusBadRequest)
		return
	}
	run := c.run
	var lines []logLine
	if o.previous {
		lines = c.previous
	} else {
		lines = c.lines
	}
	var picked []logLine
	for _, l := range lines {
		if o.wants(l) {
			picked = append(picked, l)
		}
	}
	next := len(lines)
	c.mu.Unlock()
	if o.tail >= 0 && len(picked) > o.tail {
		picked = picked[len(picked)-o.tail:]
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	written := int64(0)
	write := func(l logLine) bool {
		b := l.text
		if o.timestamps {
			b = append([]byte(l.at.UTC().Format(time.RFC3339Nano)+" "), b...)
		}
		if o.limitBytes > 0 && written+int64(len(b)) > o.limitBytes {
			b = b[:o.limitBytes-written]
		}
		n, err := w.Write(b)
		written += int64(n)
		return err == nil && (o.limitBytes == 0 || written < o.limitBytes)
	}
	for _, l := range picked {
		if !write(l) {
			return
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	if !o.follow || o.previous {
		return
	}
	// Wake the waiter below when the client goes away.
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	for {
		c.mu.Lock()
		for ctx.Err() == nil && c.run == run && len(c.lines) == next && c.running {
			c.changed.Wait()
		}
		if ctx.Err() != nil || c.run != run {
			c.mu.Unlock()
			return
		}
		fresh := append([]logLine(nil), c.lines[next:]...)
		next = len(c.lines)
		running := c.running
		c.mu.Unlock()
		for _, l := range fresh {
			if o.wants(l) && !write(l) {
				return
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !running {
			return
		}
	}
}
