package peercred_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xaad-dev/xaad/internal/peercred"
	"github.com/xaad-dev/xaad/internal/testenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// clientEnv switches the test binary into a gRPC client of the socket it
// names (see TestMain), so a test can call the server as another user.
const clientEnv = "XAAD_TEST_PEERCRED_CLIENT"

func TestMain(m *testing.M) {
	if path := os.Getenv(clientEnv); path != "" {
		os.Exit(clientHelper(path))
	}
	if path := os.Getenv(connectEnv); path != "" {
		os.Exit(connectHelper(path))
	}
	os.Exit(m.Run())
}

// clientHelper calls the health service once unary and once streaming and
// prints the status codes.
func clientHelper(path string) int {
	cc := dial(path)
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	ctx := context.Background()
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Printf("check=%s\n", status.Code(err))
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	fmt.Printf("watch=%s\nuid=%d\n", status.Code(err), os.Getuid())
	return 0
}

func dial(path string) *grpc.ClientConn {
	cc, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(peercred.TransportCredentials()))
	if err != nil {
		panic(err) // only a malformed target gets here
	}
	return cc
}

// shortDir returns a fresh directory with a short path: sun_path holds only
// 108 bytes, and t.TempDir paths embed the test name.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func listenUnix(t *testing.T, path string) net.Listener {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type server struct {
	logs *syncBuffer
	seen chan peercred.Cred // credentials the handlers saw, via FromContext
}

// serve runs the daemon's arrangement: peercred credentials, the uid check
// for our own uid, the health service. wrap=false leaves out the Listener
// wrapper to show that the omission fails closed.
func serve(t *testing.T, ln net.Listener, wrap bool) *server {
	t.Helper()
	logger, logs := newLogger()
	s := &server{logs: logs, seen: make(chan peercred.Cred, 16)}
	unary, stream := peercred.UIDInterceptor(uint32(os.Getuid()), logger)
	capture := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if c, ok := peercred.FromContext(ctx); ok {
			select {
			case s.seen <- c:
			default:
			}
		}
		return h(ctx, req)
	}
	srv := grpc.NewServer(
		grpc.Creds(peercred.TransportCredentials()),
		grpc.ChainUnaryInterceptor(unary, capture),
		grpc.ChainStreamInterceptor(stream),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if wrap {
		ln = peercred.Listener{Listener: ln, Logger: logger}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return s
}

func TestGRPCSameUID(t *testing.T) {
	path := filepath.Join(shortDir(t), "s")
	s := serve(t, listenUnix(t, path), true)
	cc := dial(path)
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)

	var p peer.Peer
	resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check = %v, %v", resp, err)
	}
	if got := <-s.seen; got != ownCred() {
		t.Errorf("server saw %+v, want %+v (our pid)", got, ownCred())
	}
	// The client side learns the server's credentials: here, also us.
	if ai, ok := p.AuthInfo.(peercred.AuthInfo); !ok || ai.Cred != ownCred() {
		t.Errorf("client saw server AuthInfo %#v, want %+v", p.AuthInfo, ownCred())
	}

	w, err := hc.Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := w.Recv(); err != nil || msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch = %v, %v", msg, err)
	}
}

func TestGRPCUnwrappedListenerFailsClosed(t *testing.T) {
	path := filepath.Join(shortDir(t), "s")
	serve(t, listenUnix(t, path), false)
	cc := dial(path)
	defer cc.Close()
	_, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if code := status.Code(err); code != codes.Unavailable {
		t.Fatalf("Check through an unwrapped listener = %v, want Unavailable", err)
	}
}

func TestGRPCOtherUIDRefused(t *testing.T) {
	testenv.Root(t, "run a client as another user (uid 65534)")
	// The other user must reach both the binary and the socket: open up a
	// directory of our own for this test only.
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	client := filepath.Join(dir, "client")
	copyFile(t, os.Args[0], client, 0o755)
	path := filepath.Join(dir, "s")
	ln := listenUnix(t, path)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	s := serve(t, ln, true)

	cmd := exec.Command(client)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), clientEnv+"="+path, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	for _, want := range []string{"uid=65534", "check=PermissionDenied", "watch=PermissionDenied"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	logs := s.logs.String()
	for _, want := range []string{"refused caller", "uid=65534", fmt.Sprintf("pid=%d", cmd.Process.Pid)} {
		if !strings.Contains(logs, want) {
			t.Errorf("server log lacks %q:\n%s", want, logs)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
