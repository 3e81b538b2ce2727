package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
)

// FileConfig is the TOML configuration file. Unknown keys are errors.
type FileConfig struct {
	Daemon        DaemonSection       `toml:"daemon"`
	IdP           IdPSection          `toml:"idp"`
	AuthServers   []AuthServerSection `toml:"authorization_server"`
	DefaultClient *ClientSection      `toml:"default_client"`
	Servers       []ServerSection     `toml:"server"`
}

// DaemonSection holds process settings.
type DaemonSection struct {
	Socket   string `toml:"socket"`
	StateDir string `toml:"state_dir"`
	LogLevel string `toml:"log_level"`
	// AllowUnlistedServers lets people use MCP servers that are not listed
	// in [[server]]. Nil means true.
	AllowUnlistedServers *bool `toml:"allow_unlisted_servers"`
	// KeyProvider and KeyFile choose where the database's data key is kept
	// (keys.go): "auto" (default), "systemd", "keyring" or "file".
	KeyProvider string `toml:"key_provider"`
	KeyFile     string `toml:"key_file"`
}

// ClientSection is a client registration at one token endpoint.
type ClientSection struct {
	ClientID         string `toml:"client_id"`
	AuthMethod       string `toml:"auth_method"`
	ClientSecretFile string `toml:"client_secret_file"`
	PrivateKeyFile   string `toml:"private_key_file"`
	KeyID            string `toml:"key_id"`
}

// IdPSection is the enterprise IdP.
type IdPSection struct {
	Issuer        string `toml:"issuer"`
	TokenEndpoint string `toml:"token_endpoint"`
	ClientSection
	Scopes      []string `toml:"scopes"`
	IDTokenFile string   `toml:"id_token_file"`
}

// AuthServerSection is the client's registration at one MCP authorization server.
type AuthServerSection struct {
	Issuer string `toml:"issuer"`
	ClientSection
}

// ServerSection is one MCP server.
type ServerSection struct {
	URL      string   `toml:"url"`
	Scopes   []string `toml:"scopes"`
	KeepWarm bool     `toml:"keep_warm"`
	// AllowedClients, when set, names the executables that may get this
	// server's tokens (policy.go): absolute paths or "sha256:<hex>".
	AllowedClients []string `toml:"allowed_clients"`
}

// Problems collects every mistake found in a configuration, so one run of
// `xaad check-config` reports them all.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// ParseConfig decodes TOML and validates it structurally. A missing file is
// not an error here; see [LoadConfig].
func ParseConfig(data []byte) (*FileConfig, error) {
	var fc FileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		return nil, Problems{err.Error()}
	}
	var probs Problems
	for _, k := range md.Undecoded() {
		probs = append(probs, fmt.Sprintf("unknown key %q", k.String()))
	}
	probs = append(probs, fc.validate()...)
	if len(probs) > 0 {
		return nil, probs
	}
	return &fc, nil
}

// LoadConfig reads and validates the file at path.
func LoadConfig(path string) (*FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

var methods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

func (fc *FileConfig) validate() Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if fc.Daemon.LogLevel != "" && !slices.Contains([]string{"debug", "info", "warn", "error"}, fc.Daemon.LogLevel) {
		add("daemon.log_level %q: want debug, info, warn or error", fc.Daemon.LogLevel)
	}
	p = append(p, fc.Daemon.validateKeys()...)
	if fc.IdP.Issuer == "" {
		add("idp.issuer is required")
	} else if err := checkURL(fc.IdP.Issuer); err != nil {
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
	seen := map[string]bool{}
	for i, as := range fc.AuthServers {
		where := fmt.Sprintf("authorization_server[%d]", i)
		if as.Issuer == "" {
			add("%s.issuer is required", where)
		} else if err := checkURL(as.Issuer); err != nil {
			add("%s.issuer: %v", where, err)
		} else if seen[as.Issuer] {
			add("%s.issuer %q is listed twice", where, as.Issuer)
		}
		seen[as.Issuer] = true
		if fc.AuthServers[i].AuthMethod == "" {
			fc.AuthServers[i].AuthMethod = "client_secret_basic"
		}
		p = append(p, fc.AuthServers[i].ClientSection.validate(where)...)
	}
	if fc.DefaultClient != nil {
		if fc.DefaultClient.AuthMethod == "" {
			fc.DefaultClient.AuthMethod = "client_secret_basic"
		}
		p = append(p, fc.DefaultClient.validate("default_client")...)
	}
	urls := map[string]bool{}
	for i, s := range fc.Servers {
		where := fmt.Sprintf("server[%d]", i)
		if s.URL == "" {
			add("%s.url is required", where)
		} else if err := checkURL(s.URL); err != nil {
			add("%s.url: %v", where, err)
		} else if urls[s.URL] {
			add("%s.url %q is listed twice", where, s.URL)
		}
		urls[s.URL] = true
		for _, sc := range s.Scopes {
			if sc == "offline_access" {
				add("%s.scopes: offline_access is an IdP scope, not an MCP server scope", where)
			}
		}
		p = append(p, checkAllowedClients(where, s.AllowedClients)...)
	}
	return p
}

func (c *ClientSection) validate(where string) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if c.ClientID == "" {
		add("%s.client_id is required", where)
	}
	if !slices.Contains(methods, c.AuthMethod) {
		add("%s.auth_method %q: want one of %s", where, c.AuthMethod, strings.Join(methods, ", "))
		return p
	}
	switch c.AuthMethod {
	case "client_secret_basic", "client_secret_post":
		if c.ClientSecretFile == "" {
			add("%s.client_secret_file is required for %s", where, c.AuthMethod)
		} else if err := checkSecretFile(c.ClientSecretFile); err != nil {
			add("%s.client_secret_file: %v", where, err)
		}
		if c.PrivateKeyFile != "" {
			add("%s.private_key_file is only used with private_key_jwt", where)
		}
	case "private_key_jwt":
		if c.PrivateKeyFile == "" {
			add("%s.private_key_file is required for private_key_jwt", where)
		} else if err := checkSecretFile(c.PrivateKeyFile); err != nil {
			add("%s.private_key_file: %v", where, err)
		} else if _, err := grant.LoadPrivateKey(c.PrivateKeyFile); err != nil {
			add("%s.private_key_file: %v", where, err)
		}
	case "none":
		if c.ClientSecretFile != "" || c.PrivateKeyFile != "" {
			add("%s: auth_method none takes no secret or key", where)
		}
	}
	return p
}

// checkSecretFile refuses secrets others can read: a secret in a
// world-readable file is already leaked.
func checkSecretFile(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q is not an absolute path", path)
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

func checkURL(raw string) error {
	_, err := broker.CheckURL(raw)
	return err
}

// clientAuth reads the secret or key of a client section.
func (c *ClientSection) clientAuth() (grant.ClientAuth, error) {
	a := grant.ClientAuth{Method: grant.AuthMethod(c.AuthMethod), ClientID: c.ClientID, KeyID: c.KeyID}
	switch a.Method {
	case grant.ClientSecretBasic, grant.ClientSecretPost:
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return a, err
		}
		a.Secret = strings.TrimRight(string(b), "\r\n")
		if a.Secret == "" {
			return a, fmt.Errorf("%s is empty", c.ClientSecretFile)
		}
	case grant.PrivateKeyJWT:
		k, err := grant.LoadPrivateKey(c.PrivateKeyFile)
		if err != nil {
			return a, err
		}
		a.Key = k
	}
	return a, nil
}

// BrokerConfig builds the broker's configuration, reading secret files.
func (fc *FileConfig) BrokerConfig() (broker.Config, error) {
	var bc broker.Config
	idpAuth, err := fc.IdP.clientAuth()
	if err != nil {
		return bc, fmt.Errorf("idp client: %w", err)
	}
	bc.IdP = broker.IdPConfig{Issuer: fc.IdP.Issuer, TokenEndpoint: fc.IdP.TokenEndpoint, Auth: idpAuth, Scopes: fc.IdP.Scopes}
	bc.AuthServers = map[string]grant.ClientAuth{}
	for _, as := range fc.AuthServers {
		a, err := as.clientAuth()
		if err != nil {
			return bc, fmt.Errorf("client at %s: %w", as.Issuer, err)
		}
		bc.AuthServers[as.Issuer] = a
	}
	if fc.DefaultClient != nil {
		a, err := fc.DefaultClient.clientAuth()
		if err != nil {
			return bc, fmt.Errorf("default client: %w", err)
		}
		bc.DefaultClient = &a
	}
	for _, s := range fc.Servers {
		bc.Servers = append(bc.Servers, broker.ServerConfig{URL: s.URL, Scopes: s.Scopes, KeepWarm: s.KeepWarm})
	}
	bc.AllowUnlisted = fc.Daemon.AllowUnlistedServers == nil || *fc.Daemon.AllowUnlistedServers
	return bc, nil
}
