// kna-notation-helper verifies image signatures for the verifier with notation-go, the library the
// notation CLI is built on, in one long-lived process (docs/architecture.md "Two notation engines").
//
// Protocol: newline-delimited JSON. Each line on stdin is a request:
//
//	{"type":"verify","id":"7","reference":"reg/repo@sha256:…","manifest":{"mediaType":"…","size":1234},
//	 "configDir":"/…/<policy version>",
//	 "pluginConfig":{"aws-region":"…"},"credentials":{"username":"…","password":"…"},
//	 "insecureRegistry":false,"maxSignatures":30,"timeoutMs":20000}
//	{"type":"cancel","id":"7"}
//
// and every verify request gets exactly one line on stdout:
//
//	{"id":"7","report":{"status":"verified|skipped|failed","error":"…","signatureFailures":[…],"warnings":[…]}}
//	{"id":"7","fault":"…"}
//
// A report is what `notation verify -v` would have shown (verify.go); a fault is the helper's own failure
// (cancelled, timed out, an unreadable request). Requests run concurrently; a cancel or the request's
// timeout cancels its context, which stops the registry calls and kills the plugin processes notation-go
// started for it. Nothing but protocol lines is written to stdout; logs go to stderr. The helper exits
// when stdin closes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"syscall"
	"time"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// manifest describes the manifest of the request's digest as the verifier's resolution of the tag found
// it; with it the helper does not ask the registry to resolve the digest again.
type manifest struct {
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

type request struct {
	Type             string            `json:"type"`
	ID               string            `json:"id"`
	Reference        string            `json:"reference"`
	Manifest         *manifest         `json:"manifest"`
	ConfigDir        string            `json:"configDir"`
	PluginConfig     map[string]string `json:"pluginConfig"`
	Credentials      *credentials      `json:"credentials"`
	InsecureRegistry bool              `json:"insecureRegistry"`
	MaxSignatures    int               `json:"maxSignatures"`
	TimeoutMs        int               `json:"timeoutMs"`
}

type response struct {
	ID     string  `json:"id"`
	Report *report `json:"report,omitempty"`
	Fault  string  `json:"fault,omitempty"`
}

// Requests are bounded by the verifier (its reference, paths and plugin configuration); a line longer
// than this is not a request.
const maxLine = 1 << 20

func main() {
	libexec := flag.String("libexec", os.Getenv("NOTATION_LIBEXEC"), "directory holding plugins/<name>/notation-<name> (NOTATION_LIBEXEC)")
	cacheDir := flag.String("cache-dir", os.Getenv("NOTATION_CACHE"), "writable cache directory (NOTATION_CACHE: the CRL cache)")
	defaultTimeout := flag.Duration("timeout", 20*time.Second, "per-request timeout when a request names none")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("kna-notation-helper: ")
	if *libexec == "" {
		log.Fatal("no plugin directory: pass --libexec or set NOTATION_LIBEXEC")
	}
	if err := leadProcessGroup(); err != nil {
		log.Fatal(err)
	}
	// Protocol lines only on stdout: anything else that would print there (a library) goes to stderr.
	protocol := os.Stdout
	os.Stdout = os.Stderr
	engine, err := newEngine(*libexec, *cacheDir)
	if err != nil {
		log.Fatal(err)
	}
	serve(os.Stdin, protocol, engine, *defaultTimeout)
}

// leadProcessGroup makes the helper the leader of a process group of its own, which the plugin processes
// it starts join: the verifier stops the helper and every plugin with one kill of the group, and a signal a
// terminal sends to the verifier's foreground group (Ctrl-C) does not reach them. It stays in the
// verifier's session, so that where the kernel schedules by session (autogroup) its niceness ranks it
// against the verifier's event loop and not against the rest of the host (docs/architecture.md "Two
// notation engines"). Nothing to do when it leads a group already (started detached, or by hand).
func leadProcessGroup() error {
	if syscall.Getpgrp() == os.Getpid() {
		return nil
	}
	if err := syscall.Setpgid(0, 0); err != nil {
		return fmt.Errorf("cannot lead a process group of its own: %w", err)
	}
	return nil
}

// serve answers requests from in on out until in ends, then cancels what is still running and waits
// for it (the plugin processes are killed with their contexts).
func serve(in io.Reader, out io.Writer, engine *engine, defaultTimeout time.Duration) {
	var (
		mu       sync.Mutex
		inFlight = map[string]context.CancelFunc{}
		wg       sync.WaitGroup
		writeMu  sync.Mutex
	)
	writer := bufio.NewWriter(out)
	encoder := json.NewEncoder(writer)
	encoder.SetEscapeHTML(false)
	send := func(r response) {
		writeMu.Lock()
		defer writeMu.Unlock()
		if err := encoder.Encode(r); err != nil {
			log.Printf("cannot write an answer: %v", err)
			return
		}
		if err := writer.Flush(); err != nil {
			log.Printf("cannot write an answer: %v", err)
		}
	}
	base, stop := context.WithCancel(context.Background())
	defer stop()

	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64*1024), maxLine)
	for scanner.Scan() {
		var req request
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			// Without an id nobody waits for an answer; say why on stderr.
			log.Printf("ignored a line that is not a request: %v", err)
			continue
		}
		switch req.Type {
		case "cancel":
			mu.Lock()
			cancel := inFlight[req.ID]
			mu.Unlock()
			if cancel != nil {
				cancel()
			}
		case "verify", "":
			if req.ID == "" {
				log.Printf("ignored a verify request without an id")
				continue
			}
			timeout := defaultTimeout
			if req.TimeoutMs > 0 {
				timeout = time.Duration(req.TimeoutMs) * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(base, timeout)
			mu.Lock()
			if _, dup := inFlight[req.ID]; dup {
				mu.Unlock()
				cancel()
				send(response{ID: req.ID, Fault: fmt.Sprintf("request id %q is already in flight", req.ID)})
				continue
			}
			inFlight[req.ID] = cancel
			mu.Unlock()
			wg.Add(1)
			go func(req request) {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(inFlight, req.ID)
					mu.Unlock()
					cancel()
				}()
				send(answer(ctx, engine, req, timeout))
			}(req)
		default:
			if req.ID != "" {
				send(response{ID: req.ID, Fault: fmt.Sprintf("unknown request type %q", req.Type)})
			}
		}
	}
	if err := scanner.Err(); err != nil {
		log.Printf("stopped reading requests: %v", err)
	}
	stop()
	wg.Wait()
}

func answer(ctx context.Context, engine *engine, req request, timeout time.Duration) (res response) {
	res.ID = req.ID
	defer func() {
		// A panic in one verification is that request's fault, not the end of the others.
		if p := recover(); p != nil {
			log.Printf("verification of %s panicked: %v", req.Reference, p)
			res = response{ID: req.ID, Fault: fmt.Sprintf("the notation helper failed: %v", p)}
		}
	}()
	rep := engine.verify(ctx, req)
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return response{ID: req.ID, Fault: fmt.Sprintf("the verification did not finish within %d ms and was cancelled", timeout.Milliseconds())}
	case err != nil:
		return response{ID: req.ID, Fault: "the verification was cancelled"}
	}
	return response{ID: req.ID, Report: &rep}
}
