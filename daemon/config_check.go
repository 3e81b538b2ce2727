package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/grant"
)

var methods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

// validate is the one check of a configuration: ParseConfig runs it, so
// `xaad check-config`, `xaad run`, `xaad rekey` and a reload all refuse
// the same files with the same words. It fills in defaults as it goes.
func (fc *FileConfig) validate() Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if fc.Daemon.LogLevel != "" && !slices.Contains([]string{"debug", "info", "warn", "error"}, fc.Daemon.LogLevel) {
		add("daemon.log_level %q: want debug, info, warn or error", fc.Daemon.LogLevel)
	}
	p = append(p, fc.Daemon.keySettings().Validate()...)
	if fc.IdP.Issuer == "" {
		add("idp.issuer is required: set it to your IdP's issuer URL, as its /.well-known/openid-configuration states it")
	} else if err := checkIssuer(fc.IdP.Issuer); err != nil {
		add("idp.issuer: %v", err)
	}
	if fc.IdP.TokenEndpoint != "" {
		if err := checkURL(fc.IdP.TokenEndpoint); err != nil {
			add("idp.token_endpoint: %v", err)
		}
	}
	if fc.IdP.AuthMethod == "" {
		// An IdP client is usually confidential (EMA §7.7); default to basic
		// only when a secret is configured, otherwise the config is wrong.
		fc.IdP.AuthMethod = "client_secret_basic"
	}
	p = append(p, fc.IdP.ClientSection.validate("idp")...)
	p = append(p, checkPrompt(fc.IdP.Prompt)...)
	p = append(p, fc.validateAuthServers()...)
	if fc.DefaultClient != nil {
		if fc.DefaultClient.AuthMethod == "" {
			fc.DefaultClient.AuthMethod = "client_secret_basic"
		}
		p = append(p, fc.DefaultClient.validate()...)
	}
	return append(p, fc.validateServers()...)
}

func (fc *FileConfig) validateAuthServers() Problems {
	var p Problems
	seen := map[string]bool{}
	for i, as := range fc.AuthServers {
		where := fmt.Sprintf("authorization_server[%d]", i)
		if as.Issuer == "" {
			p = append(p, where+".issuer is required: set it to the issuer byte for byte as the authorization server's metadata states it")
		} else if err := checkIssuer(as.Issuer); err != nil {
			p = append(p, fmt.Sprintf("%s.issuer: %v", where, err))
		} else if seen[as.Issuer] {
			p = append(p, fmt.Sprintf("%s.issuer %q is listed twice: merge the two sections", where, as.Issuer))
		}
		seen[as.Issuer] = true
		if fc.AuthServers[i].AuthMethod == "" {
			fc.AuthServers[i].AuthMethod = "client_secret_basic"
		}
		p = append(p, fc.AuthServers[i].ClientSection.validate(where)...)
		p = append(p, checkDPoP(where, as.DPoP)...)
	}
	return p
}

// checkDPoP validates a dpop key; empty means the default.
func checkDPoP(where, v string) Problems {
	if broker.DPoPPolicy(v).Valid() {
		return nil
	}
	return Problems{fmt.Sprintf("%s.dpop %q: want \"auto\" (DPoP where the authorization server offers it), \"required\" (no bearer tokens) or \"off\"", where, v)}
}

func (fc *FileConfig) validateServers() Problems {
	var p Problems
	urls := map[string]bool{}
	for i, s := range fc.Servers {
		where := fmt.Sprintf("server[%d]", i)
		if s.URL == "" {
			p = append(p, where+".url is required: set it to the MCP server's URL")
		} else if err := checkURL(s.URL); err != nil {
			p = append(p, fmt.Sprintf("%s.url: %v", where, err))
		} else if urls[s.URL] {
			p = append(p, fmt.Sprintf("%s.url %q is listed twice: merge the two sections", where, s.URL))
		}
		urls[s.URL] = true
		if slices.Contains(s.Scopes, "offline_access") {
			p = append(p, where+".scopes: offline_access is an IdP scope, not an MCP server scope: move it to idp.scopes")
		}
		p = append(p, checkAllowedClients(where, s.AllowedClients)...)
		p = append(p, checkDPoP(where, s.DPoP)...)
		p = append(p, checkIdle(where, s)...)
	}
	return p
}

// validate checks the [default_client], and that a secret in it goes only
// where the configuration says it may.
func (d *DefaultClientSection) validate() Problems {
	p := d.ClientSection.validate("default_client")
	for i, iss := range d.Issuers {
		if err := checkIssuer(iss); err != nil {
			p = append(p, fmt.Sprintf("default_client.issuers[%d]: %v", i, err))
		}
	}
	secret := d.AuthMethod == "client_secret_basic" || d.AuthMethod == "client_secret_post"
	switch {
	case d.AnyIssuer && len(d.Issuers) > 0:
		p = append(p, "default_client: issuers and any_issuer = true contradict each other: keep the list (safer) or remove it")
	case secret && !d.AnyIssuer && len(d.Issuers) == 0:
		p = append(p, fmt.Sprintf("default_client uses a client secret (%s) and names no authorization servers: xaad presents a secret only at the servers it was made for (MCP 2026-07-28, Authorization Server Binding). "+
			"List their issuers, byte for byte as their metadata states them: issuers = [\"https://auth.example.com/\"]; or, to allow any authorization server explicitly, set any_issuer = true", d.AuthMethod))
	}
	return p
}

func (c *ClientSection) validate(where string) Problems {
	p := c.RateSection.validate(where)
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if c.ClientID == "" {
		add("%s.client_id is required: set it to the client id your administrator registered", where)
	}
	if !slices.Contains(methods, c.AuthMethod) {
		add("%s.auth_method %q: want one of %s", where, c.AuthMethod, strings.Join(methods, ", "))
		return p
	}
	switch c.AuthMethod {
	case "client_secret_basic", "client_secret_post":
		if c.ClientSecretFile == "" {
			add("%s.client_secret_file is required for %s: name a 0600 file holding the secret", where, c.AuthMethod)
		} else if err := checkSecretFile(c.ClientSecretFile); err != nil {
			add("%s.client_secret_file: %v", where, err)
		} else if _, err := readSecret(c.ClientSecretFile); err != nil {
			add("%s.client_secret_file: %v", where, err)
		}
		if c.PrivateKeyFile != "" {
			add("%s.private_key_file is only used with private_key_jwt: remove it, or set auth_method = \"private_key_jwt\"", where)
		}
	case "private_key_jwt":
		if c.PrivateKeyFile == "" {
			add("%s.private_key_file is required for private_key_jwt: name a 0600 PEM file (EC P-256 or RSA)", where)
		} else if err := checkSecretFile(c.PrivateKeyFile); err != nil {
			add("%s.private_key_file: %v", where, err)
		} else if k, err := grant.LoadPrivateKey(c.PrivateKeyFile); err != nil {
			add("%s.private_key_file: %v", where, err)
		} else if err := (grant.ClientAuth{Method: grant.PrivateKeyJWT, ClientID: "x", Key: k}).Validate(); err != nil {
			// What the broker refuses at start, said here first.
			add("%s.private_key_file %s: %v: use an EC P-256 or RSA key", where, c.PrivateKeyFile, err)
		}
	case "none":
		if c.ClientSecretFile != "" || c.PrivateKeyFile != "" {
			add("%s: auth_method none takes no secret or key: remove client_secret_file and private_key_file, or choose another auth_method", where)
		}
	}
	return p
}

// checkSecretFile refuses secrets others can read: a secret in a
// world-readable file is already leaked.
func checkSecretFile(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q is not an absolute path: write it in full", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %04o); run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	return nil
}

// readSecret is a client secret file's content without its line ending:
// the same read for the check and for the start.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty: write the client secret into it (one line)", path)
	}
	return s, nil
}

func checkURL(raw string) error {
	_, err := broker.CheckURL(raw)
	return err
}

// checkIssuer is checkURL plus what discovery needs of an issuer: no query
// and no fragment (RFC 8414 §2; OpenID Connect Discovery 1.0 §3), which
// the broker would otherwise refuse only at the first sign-in.
func checkIssuer(raw string) error {
	if err := checkURL(raw); err != nil {
		return err
	}
	if _, err := discovery.ASMetadataURLs(raw); err != nil {
		return fmt.Errorf("%v: remove the query; an issuer is the scheme, host and path only", err)
	}
	return nil
}

// promptValues are the OIDC Core §3.1.2.1 prompt values a browser sign-in
// can send; "none" asks the IdP to show no page, which an interactive
// sign-in cannot work with.
var promptValues = []string{"login", "consent", "select_account"}

func checkPrompt(prompt string) Problems {
	var p Problems
	for _, v := range strings.Fields(prompt) {
		if !slices.Contains(promptValues, v) {
			p = append(p, fmt.Sprintf("idp.prompt %q: want space-separated values of %s (\"none\" would show no sign-in page)", v, strings.Join(promptValues, ", ")))
		}
	}
	return p
}
