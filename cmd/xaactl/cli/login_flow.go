package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// stillWaiting is how often a waiting sign-in says it is still waiting.
const stillWaiting = 30 * time.Second

// runInteractive runs a browser or device sign-in in the daemon and shows
// its events. Cancelling ctx (Ctrl-C) or the timeout ends the stream, and
// with it the sign-in in the daemon.
func runInteractive(ctx context.Context, e *env, o loginOpts) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	mode := xaadv1.LoginMode_LOGIN_MODE_BROWSER
	if o.device {
		mode = xaadv1.LoginMode_LOGIN_MODE_DEVICE
	}
	// The daemon never starts a browser (it may have no display): xaactl,
	// running in the person's session, does.
	stream, err := c.Raw().Login(ctx, &xaadv1.LoginRequest{Mode: mode, ExtraScopes: o.scopes, NoBrowser: true})
	if err != nil {
		return loginError(ctx, o, c.FromStatus(err))
	}
	type recv struct {
		ev  *xaadv1.LoginResponse
		err error
	}
	events := make(chan recv)
	go func() {
		for {
			ev, err := stream.Recv()
			select {
			case events <- recv{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(o.timeout)
	tick := time.NewTicker(stillWaiting)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fmt.Fprintf(e.stderr, "Still waiting for the sign-in (%s left; Ctrl-C cancels)...\n", time.Until(deadline).Round(time.Second))
			continue
		case <-ctx.Done():
			return loginError(ctx, o, ctx.Err())
		case r := <-events:
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					return errors.New("the daemon ended the sign-in without a result")
				}
				return loginError(ctx, o, c.FromStatus(r.err))
			}
			if done := r.ev.GetDone(); done != nil {
				_, err := fmt.Fprintln(e.stdout, loginDone(done.GetIdentity(), time.Now()))
				return err
			}
			showLoginEvent(e, o, r.ev)
		}
	}
}

// showLoginEvent tells the person what to do; all of it goes to stderr,
// which is where a person reads while stdout stays for the result.
func showLoginEvent(e *env, o loginOpts, ev *xaadv1.LoginResponse) {
	w := e.stderr
	switch {
	case ev.GetOpenUrl() != nil:
		u := ev.GetOpenUrl().GetUrl()
		if o.noBrowser {
			fmt.Fprintf(w, "Open this URL in a browser on this machine to sign in:\n\n  %s\n\n", u)
			return
		}
		if err := e.open(u); err != nil {
			fmt.Fprintf(w, "Could not open a browser (%v). Open this URL on this machine to sign in:\n\n  %s\n\n", err, u)
			return
		}
		fmt.Fprintf(w, "Your browser has been opened to sign in. If it did not open, visit:\n\n  %s\n\n", u)
	case ev.GetDeviceCode() != nil:
		d := ev.GetDeviceCode()
		fmt.Fprintf(w, "To sign in, open %s on any device and enter the code:\n\n  %s\n\n", d.GetVerificationUri(), d.GetUserCode())
		if d.GetVerificationUriComplete() != "" {
			fmt.Fprintf(w, "Or open %s, which includes the code.\n", d.GetVerificationUriComplete())
		}
		if exp := d.GetExpiresAt(); exp != nil {
			fmt.Fprintf(w, "The code expires in %s.\n", time.Until(exp.AsTime()).Round(time.Second))
		}
	case ev.GetProgress() != nil:
		fmt.Fprintf(w, "%s%s...\n", upperFirst(ev.GetProgress().GetMessage()), " (Ctrl-C cancels)")
	}
}

// loginError explains why a sign-in ended without success.
func loginError(ctx context.Context, o loginOpts, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded:
		return fmt.Errorf("the sign-in did not finish within %s and was cancelled; run `xaactl login` again (--timeout waits longer)", o.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return errors.New("sign-in cancelled")
	}
	return err
}

// open starts the person's browser at u. xdg-open returns once the browser
// has the URL; it is waited for in the background so it leaves no zombie.
func (e *env) open(u string) error {
	if e.openURL != nil {
		return e.openURL(u)
	}
	cmd := exec.Command("xdg-open", u)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
