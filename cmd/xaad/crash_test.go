package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testenv"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
	"github.com/xaad-dev/xaad/storage"
)

// crashRounds is how many times TestCrashSafety kills the daemon.
const crashRounds = 50

// The real daemon binary is killed with SIGKILL at random moments while
// clients force refreshes and read tokens. After each kill the database
// must pass bbolt's consistency check with every value opening under its
// key, and the restarted daemon must serve, from disk, the newest token a
// client was ever given or a newer one: nothing acknowledged is lost.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		testenv.OptIn(t, "kills and restarts the daemon 50 times; runs without -short")
	}
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	dir, err := os.MkdirTemp("", "xk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := buildXaad(t, dir)
	cfg := testConfig(t, dir, tb)
	state, sock := filepath.Join(dir, "state"), filepath.Join(dir, "s")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	mcp := tb.MCP.URL()

	var newest *client.Token // the newest token any client was given
	for round := range crashRounds {
		d := startDaemon(t, bin, cfg, state, sock, filepath.Join(dir, fmt.Sprintf("log-%02d", round)))
		c := d.client
		if round == 0 {
			idt, err := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.LoginImport(t.Context(), idt, ""); err != nil {
				t.Fatal(err)
			}
		} else if newest != nil {
			got, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp})
			if err != nil {
				t.Fatalf("round %d: after restart: %v\n%s", round, err, d.log())
			}
			if got.Source != xaadv1.TokenSource_TOKEN_SOURCE_DISK {
				t.Fatalf("round %d: the acknowledged token (refreshed %s) was not on disk: served from %v", round, newest.RefreshedAt, got.Source)
			}
			if got.RefreshedAt.Before(newest.RefreshedAt) || got.RefreshedAt.Equal(newest.RefreshedAt) && got.AccessToken != newest.AccessToken {
				t.Fatalf("round %d: served a token refreshed %s, older than the acknowledged one of %s", round, got.RefreshedAt, newest.RefreshedAt)
			}
		}

		// Clients: forced refreshes and plain reads, until the kill.
		ctx, cancel := context.WithCancel(t.Context())
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		for w := range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					tok, err := c.GetToken(ctx, client.TokenRequest{Resource: mcp, ForceRefresh: w%2 == 0})
					if err != nil {
						return // the daemon is gone
					}
					mu.Lock()
					if newest == nil || tok.RefreshedAt.After(newest.RefreshedAt) {
						newest = tok
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		d.kill(t)
		cancel() // before Wait: a call that would wait for a reconnect ends too
		wg.Wait()
		c.Close()
		checkDatabase(t, round, state, filepath.Join(dir, "data.key"))
	}
	if newest == nil {
		t.Fatal("no client ever got a token")
	}
	t.Logf("%d kills; %d token exchanges in all", crashRounds, tb.TokenExchanges())
}

type daemonProc struct {
	cmd     *exec.Cmd
	client  *client.Client
	logPath string
}

func (d *daemonProc) log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

func (d *daemonProc) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
}

// startDaemon runs the binary and waits until it answers Status.
func startDaemon(t *testing.T, bin, cfg, state, sock, logPath string) *daemonProc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run", "--allow-root", "--config", cfg, "--state-dir", state, "--socket", sock, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, logPath: logPath}
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()
	// Not a timing assertion: only a bound so a wedged daemon fails the
	// test with its log instead of hanging it.
	giveUp := time.Now().Add(time.Minute)
	for {
		select {
		case <-exited:
			t.Fatalf("daemon exited at start:\n%s", d.log())
		default:
		}
		if time.Now().After(giveUp) {
			cmd.Process.Kill()
			t.Fatalf("daemon did not answer within a minute:\n%s", d.log())
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		c, err := client.Dial(ctx, sock)
		if err == nil {
			if _, err = c.Status(ctx); err == nil {
				cancel()
				d.client = c
				return d
			}
			c.Close()
		}
		cancel()
		time.Sleep(10 * time.Millisecond)
	}
}

func checkDatabase(t *testing.T, round int, state, keyFile string) {
	t.Helper()
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(state, "xaad.db"), &storage.Options{Key: key})
	if err != nil {
		t.Fatalf("round %d: open after SIGKILL: %v", round, err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Fatalf("round %d: after SIGKILL: %v", round, err)
	}
}
