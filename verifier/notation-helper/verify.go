package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	corecrl "github.com/notaryproject/notation-core-go/revocation/crl"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationlog "github.com/notaryproject/notation-go/log"
	"github.com/notaryproject/notation-go/plugin"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/crl"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	orascreds "oras.land/oras-go/v2/registry/remote/credentials"
)

// report is what `notation verify -v` shows, as data: the verifier classifies it exactly as it
// classifies the CLI's output (verifier/src/notation/classify.ts).
type report struct {
	// verified | skipped | failed
	Status string `json:"status"`
	// The CLI's "Error: …" line, without the prefix (status failed).
	Error string `json:"error,omitempty"`
	// Why each signature failed: the CLI's "Signature … failed verification with error: …" log lines.
	SignatureFailures []string `json:"signatureFailures"`
	// The CLI's "Warning: …" lines (a check whose action is log failed).
	Warnings []string `json:"warnings"`
}

const trustPolicyLink = "https://notaryproject.dev/docs/quickstart/#create-a-trust-policy"

// The trust policy documents read so far, by configuration directory. A directory is named by its policy
// version (a hash of its content) and never changes, so a document is read once; the cache is emptied
// when it grows past policyCacheSize (policy versions that were replaced).
const policyCacheSize = 256

type engine struct {
	plugins      plugin.Manager
	httpClient   *http.Client
	revCode      revocation.Validator
	revTimestamp revocation.Validator
	tokens       *tokenCache

	mu       sync.Mutex
	policies map[string]*trustpolicy.Document
}

func newEngine(libexec, cacheDir string) (*engine, error) {
	// One transport for every request: connections to each registry (TLS included) stay open between
	// verifications. The same proxy settings as the notation CLI (the environment).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	e := &engine{
		plugins:    plugin.NewCLIManager(dir.NewSysFS(filepath.Join(libexec, dir.PathPlugins))),
		httpClient: &http.Client{Transport: tokenResponses{next: transport}},
		tokens:     newTokenCache(maxTokens, time.Now),
		policies:   map[string]*trustpolicy.Document{},
	}
	var err error
	if e.revCode, err = revocationValidator(transport, cacheDir, purpose.CodeSigning); err != nil {
		return nil, err
	}
	if e.revTimestamp, err = revocationValidator(transport, cacheDir, purpose.Timestamping); err != nil {
		return nil, err
	}
	return e, nil
}

// The certificate revocation checks notation runs itself (OCSP and CRL, the CLI's timeouts and CRL file
// cache under NOTATION_CACHE/crl; a cache that cannot be used is only logged, as by the CLI).
func revocationValidator(transport http.RoundTripper, cacheDir string, p purpose.Purpose) (revocation.Validator, error) {
	fetcher, err := corecrl.NewHTTPFetcher(&http.Client{Transport: transport, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	fetcher.DiscardCacheError = true
	if cacheDir != "" {
		if fileCache, err := crl.NewFileCache(filepath.Join(cacheDir, dir.PathCRLCache)); err != nil {
			fmt.Fprintf(os.Stderr, "kna-notation-helper: CRL cache not used: %v\n", err)
		} else {
			fetcher.Cache = fileCache
		}
	}
	return revocation.NewWithOptions(revocation.Options{
		OCSPHTTPClient:   &http.Client{Transport: transport, Timeout: 2 * time.Second},
		CRLFetcher:       fetcher,
		CertChainPurpose: p,
	})
}

// verify runs what `notation verify` runs, in the same order, and reports it with the CLI's texts.
func (e *engine) verify(ctx context.Context, req request) report {
	rep := report{SignatureFailures: []string{}, Warnings: []string{}}
	failed := func(err error) report {
		rep.Status = "failed"
		rep.Error = err.Error()
		return rep
	}
	if req.MaxSignatures <= 0 {
		return failed(fmt.Errorf("max-signatures value %d must be a positive number", req.MaxSignatures))
	}
	recorder := &signatureLog{}
	ctx = notationlog.WithLogger(ctx, recorder)

	doc, err := e.policy(req.ConfigDir)
	if err != nil {
		return failed(err)
	}
	sigVerifier, err := verifier.NewWithOptions(doc, truststore.NewX509TrustStore(dir.NewSysFS(req.ConfigDir)), e.plugins, verifier.VerifierOptions{
		RevocationCodeSigningValidator:  e.revCode,
		RevocationTimestampingValidator: e.revTimestamp,
	})
	if err != nil {
		return failed(err)
	}

	ref, err := registry.ParseReference(req.Reference)
	if err != nil {
		return failed(fmt.Errorf("%q: %w. Expecting <registry>/<repository>:<tag> or <registry>/<repository>@<digest>", req.Reference, err))
	}
	if ref.Reference == "" {
		return failed(fmt.Errorf("%q: invalid reference: no tag or digest. Expecting <registry>/<repository>:<tag> or <registry>/<repository>@<digest>", req.Reference))
	}
	client, err := e.authClient(req, ref)
	if err != nil {
		return failed(err)
	}
	host, _, _ := net.SplitHostPort(ref.Registry)
	repo := notationregistry.NewRepository(&remote.Repository{Client: client, Reference: ref, PlainHTTP: req.InsecureRegistry || host == "localhost"})

	// The CLI resolves the reference, then notation.Verify resolves it again: one request to the
	// registry answers both here, and none when the verifier's resolution of the tag described the
	// manifest of this digest already.
	desc, err := describe(ctx, repo, ref, req.Manifest)
	if err != nil {
		return failed(err)
	}
	resolved := ref.Registry + "/" + ref.Repository + "@" + desc.Digest.String()

	_, outcomes, err := notation.Verify(ctx, sigVerifier, resolvedOnce{Repository: repo, reference: ref.Reference, desc: desc}, notation.VerifyOptions{
		ArtifactReference:    resolved,
		PluginConfig:         req.PluginConfig,
		MaxSignatureAttempts: req.MaxSignatures,
	})
	rep.SignatureFailures = append(rep.SignatureFailures, recorder.failures()...)
	if err := cliVerificationError(outcomes, resolved, err); err != nil {
		return failed(err)
	}
	outcome := outcomes[0]
	for _, result := range outcome.VerificationResults {
		if result.Error != nil {
			// Only a check whose action is "log" can fail on a verified signature.
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%v was set to %q and failed with error: %v", result.Type, result.Action, result.Error))
		}
	}
	if reflect.DeepEqual(outcome.VerificationLevel, trustpolicy.LevelSkip) {
		rep.Status = "skipped"
	} else {
		rep.Status = "verified"
	}
	return rep
}

// describe is the descriptor notation.Verify verifies against: the one the request carries for its
// digest, else the registry's answer for the reference (which must be the digest asked for).
func describe(ctx context.Context, repo notationregistry.Repository, ref registry.Reference, given *manifest) (ocispec.Descriptor, error) {
	requested, digestErr := digest.Parse(ref.Reference)
	if given != nil {
		if digestErr != nil {
			return ocispec.Descriptor{}, fmt.Errorf("a manifest was given for %q, which is not a digest reference", ref.Reference)
		}
		if given.MediaType == "" || given.Size <= 0 {
			return ocispec.Descriptor{}, fmt.Errorf("the manifest given for %s has no media type or size", ref.Reference)
		}
		return ocispec.Descriptor{MediaType: given.MediaType, Digest: requested, Size: given.Size}, nil
	}
	desc, err := repo.Resolve(ctx, ref.Reference)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("failed to get manifest descriptor: %w", err)
	}
	if digestErr == nil && requested != desc.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("user input digest %s does not match the resolved digest %s", ref.Reference, desc.Digest.String())
	}
	return desc, nil
}

// cliVerificationError is the error `notation verify` reports for notation.Verify's result (nil when
// it succeeded): trust store problems with their cause, all signatures failing as one sentence.
func cliVerificationError(outcomes []*notation.VerificationOutcome, resolved string, err error) error {
	if err == nil && len(outcomes) > 0 {
		return nil
	}
	if err != nil {
		var storeErr truststore.TrustStoreError
		if errors.As(err, &storeErr) {
			return withCause(storeErr, storeErr.InnerError, err)
		}
		var certErr truststore.CertificateError
		if errors.As(err, &certErr) {
			return withCause(certErr, certErr.InnerError, err)
		}
		var failedErr notation.ErrorVerificationFailed
		if !errors.As(err, &failedErr) {
			return fmt.Errorf("signature verification failed: %w", err)
		}
	}
	return fmt.Errorf("signature verification failed for all the signatures associated with %s", resolved)
}

func withCause(err, inner, whole error) error {
	if errors.Is(whole, fs.ErrNotExist) {
		return fmt.Errorf("%w. Use command 'notation cert add' to create and add trusted certificates to the trust store", err)
	}
	return fmt.Errorf("%w. %w", err, inner)
}

// policy reads configDir/trustpolicy.json as the CLI does (a regular file, not a symlink) with its
// messages, once per directory.
func (e *engine) policy(configDir string) (*trustpolicy.Document, error) {
	e.mu.Lock()
	doc := e.policies[configDir]
	e.mu.Unlock()
	if doc != nil {
		return doc, nil
	}
	path := filepath.Join(configDir, dir.PathTrustPolicy)
	info, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("trust policy is not present. To create a trust policy, see: %s", trustPolicyLink)
		}
		return nil, err
	}
	if info.IsDir() || info.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("trust policy is not a regular file (symlinks are not supported). To create a trust policy, see: %s", trustPolicyLink)
	}
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("unable to read trust policy due to file permissions, please verify the permissions of %s", path)
		}
		return nil, err
	}
	defer file.Close()
	doc = &trustpolicy.Document{}
	if err := json.NewDecoder(file).Decode(doc); err != nil {
		return nil, fmt.Errorf("malformed trust policy. To create a trust policy, see: %s", trustPolicyLink)
	}
	e.mu.Lock()
	if len(e.policies) >= policyCacheSize {
		clear(e.policies)
	}
	e.policies[configDir] = doc
	e.mu.Unlock()
	return doc, nil
}

// authClient authenticates as the CLI does with NOTATION_USERNAME/NOTATION_PASSWORD: a username and
// password, a password alone as an identity token, and neither: the credential stores notation reads
// (config.json of the configuration directory, then Docker's, then the platform's native store). Its
// tokens are those of its credentials (tokens.go), shared with the verifications that use the same ones;
// credentials from a store are known only once the store is asked, so a verification using one keeps its
// tokens to itself.
func (e *engine) authClient(req request, ref registry.Reference) (*auth.Client, error) {
	client := &auth.Client{Client: e.httpClient, ClientID: "notation"}
	client.SetUserAgent("kna-notation-helper (notation-go)")
	var cred auth.Credential
	if req.Credentials != nil {
		if req.Credentials.Username == "" {
			cred = auth.Credential{RefreshToken: req.Credentials.Password}
		} else {
			cred = auth.Credential{Username: req.Credentials.Username, Password: req.Credentials.Password}
		}
	}
	if cred != auth.EmptyCredential {
		client.Credential = auth.StaticCredential(ref.Host(), cred)
		client.Cache = e.tokens.forCredential(e.tokens.credentialID(ref.Host(), cred))
		return client, nil
	}
	store, configured, err := credentialStore(req.ConfigDir)
	if err != nil {
		return nil, fmt.Errorf("failed to get credentials store: %w", err)
	}
	client.Credential = orascreds.Credential(store)
	if configured {
		client.Cache = auth.NewCache()
	} else {
		// No store holds anything: anonymous access, whose tokens every anonymous verification shares.
		client.Cache = e.tokens.forCredential(e.tokens.credentialID(ref.Host(), auth.EmptyCredential))
	}
	return client, nil
}

// credentialStore is the store notation reads credentials from, and whether any store is configured
// (without one, access is anonymous).
func credentialStore(configDir string) (orascreds.Store, bool, error) {
	opts := orascreds.StoreOptions{AllowPlaintextPut: false}
	notationStore, err := orascreds.NewStore(filepath.Join(configDir, dir.PathConfigFile), opts)
	if err != nil {
		return nil, false, fmt.Errorf("failed to create credential store from config file: %w", err)
	}
	if notationStore.IsAuthConfigured() {
		return notationStore, true, nil
	}
	dockerStore, err := orascreds.NewStoreFromDocker(opts)
	if err != nil {
		return nil, false, fmt.Errorf("failed to create credential store from docker config file: %w", err)
	}
	if dockerStore.IsAuthConfigured() {
		return dockerStore, true, nil
	}
	if native, ok := orascreds.NewDefaultNativeStore(); ok {
		return native, true, nil
	}
	return notationStore, false, nil
}

// resolvedOnce answers notation.Verify's resolution of the reference with the descriptor resolved just
// before; everything else goes to the registry.
type resolvedOnce struct {
	notationregistry.Repository
	reference string
	desc      ocispec.Descriptor
}

func (r resolvedOnce) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if reference == r.reference {
		return r.desc, nil
	}
	return r.Repository.Resolve(ctx, reference)
}

// signatureLog is notation-go's logger for one request: it keeps why each signature failed (the lines
// the CLI logs at warning level with -v) and drops the rest.
type signatureLog struct {
	mu      sync.Mutex
	reasons []string
}

const signatureFailedFormat = "Signature %v failed verification with error: %v"

func (l *signatureLog) Warnf(format string, args ...any) {
	if format != signatureFailedFormat || len(args) != 2 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reasons = append(l.reasons, fmt.Sprint(args[1]))
}

func (l *signatureLog) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reasons...)
}

func (*signatureLog) Debug(...any)          {}
func (*signatureLog) Debugf(string, ...any) {}
func (*signatureLog) Debugln(...any)        {}
func (*signatureLog) Info(...any)           {}
func (*signatureLog) Infof(string, ...any)  {}
func (*signatureLog) Infoln(...any)         {}
func (*signatureLog) Warn(...any)           {}
func (*signatureLog) Warnln(...any)         {}
func (*signatureLog) Error(...any)          {}
func (*signatureLog) Errorf(string, ...any) {}
func (*signatureLog) Errorln(...any)        {}
