package daemon

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/internal/clock"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// testGuard is a guard with a policy that locks one server, an audit log
// in a folder of the test's own, and the rules given.
func testGuard(t *testing.T, rules map[string]methodRule) *guard {
	t.Helper()
	a, err := newAuditLog(t.TempDir(), clock.NewFake(t0), discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	g := newGuard(a, clock.NewFake(t0), discard())
	if rules != nil {
		g.rules = rules
	}
	g.setPolicy(newPolicy([]ServerSection{{URL: "https://locked.example/mcp", AllowedClients: []string{"/opt/x"}}}))
	return g
}

// Every method the daemon's server registers (its API, health,
// reflection) has a rule: none is refused by accident, and a method added
// later without one is refused (TestPolicyDeniesByDefault).
func TestEveryMethodHasARule(t *testing.T) {
	d := &Daemon{opts: Options{}, clock: clock.NewFake(t0), log: discard(), store: &openedStore{}, guard: testGuard(t, nil)}
	srv, _ := newServer(d)
	n := 0
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			n++
			if _, ok := methodRules["/"+svc+"/"+m.Name]; !ok {
				t.Errorf("method /%s/%s has no entry in methodRules (policy_grpc.go)", svc, m.Name)
			}
		}
	}
	if n < len(xaadv1.XaadService_ServiceDesc.Methods)+len(xaadv1.XaadService_ServiceDesc.Streams)+2 {
		t.Fatalf("the server registers only %d methods", n)
	}
}

// A method without a rule is refused before its handler runs, and a
// token-bearing request of a type the check cannot read is refused: the
// policy denies what it does not know.
func TestPolicyDeniesByDefault(t *testing.T) {
	const unknown, tokenish = "/xaad.v1.XaadService/GetSecret", "/xaad.v1.XaadService/GetTokenV2"
	rules := map[string]methodRule{tokenish: {audit: true, token: true}}
	for k, v := range methodRules {
		rules[k] = v
	}
	g := testGuard(t, rules)
	called := false
	h := func(context.Context, any) (any, error) {
		called = true
		return &xaadv1.GetTokenResponse{AccessToken: "t"}, nil
	}
	for _, tc := range []struct {
		method string
		req    any
		code   codes.Code
	}{
		{unknown, &xaadv1.GetTokenRequest{Resource: "https://open.example/mcp"}, codes.PermissionDenied},
		// A request type the switch in check does not handle.
		{tokenish, &xaadv1.StatusRequest{}, codes.PermissionDenied},
	} {
		called = false
		_, err := g.policyUnary(context.Background(), tc.req, &grpc.UnaryServerInfo{FullMethod: tc.method}, h)
		if status.Code(err) != tc.code || called {
			t.Errorf("%s with %T: %v (handler called: %v), want %v before the handler", tc.method, tc.req, err, called, tc.code)
		}
	}
	stream := func(any, grpc.ServerStream) error { called = true; return nil }
	called = false
	if err := g.policyStream(nil, nil, &grpc.StreamServerInfo{FullMethod: unknown}, stream); status.Code(err) != codes.PermissionDenied || called {
		t.Errorf("unknown stream: %v (handler called: %v)", err, called)
	}
	// The known token method with its own type still passes for an open server.
	called = false
	if _, err := g.policyUnary(context.Background(), &xaadv1.GetTokenRequest{Resource: "https://open.example/mcp"},
		&grpc.UnaryServerInfo{FullMethod: xaadv1.XaadService_GetToken_FullMethodName}, h); err != nil || !called {
		t.Errorf("GetToken for an open server: %v (handler called: %v)", err, called)
	}
}
