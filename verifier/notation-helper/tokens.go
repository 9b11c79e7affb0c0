package main

// Registry tokens shared across verifications. A verification carries its own credentials, so oras-go's
// per-client token cache lasted one verification, and a registry with bearer-token authentication was
// asked for a token by every verification. Here tokens are kept by the credentials they were issued for
// (registry host, username, and a keyed hash of the password or identity token: never the secret itself),
// by authentication scheme and by scope, as oras-go keys them; a token is used no longer than the
// expires_in its token server gave (60 s when it gave none: distribution's token authentication
// specification), and the cache holds at most maxTokens of them, the least recently used going first.
// A token the registry refuses anyway is fetched again by oras-go (a 401 always leads to Set).

import (
	"bytes"
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Tokens kept at most: a token per (credentials, repository) in use is far fewer.
const maxTokens = 512

// The lifetime of a token whose server did not say (distribution's token specification).
const defaultTokenLifetime = 60 * time.Second

// A token is dropped this much before it expires (a tenth of its lifetime, at most maxExpiryMargin), so
// that a request does not carry a token that expires on the way.
const maxExpiryMargin = 10 * time.Second

// Token responses are read up to this (oras-go reads 128 KiB of them).
const maxTokenResponse = 128 * 1024

// credentialID names credentials without holding their secret.
type credentialID struct {
	registry string
	// "" for an identity token or anonymous access.
	username string
	// HMAC-SHA256 of the password (or identity token) under the cache's own random key; zero: anonymous.
	secret [sha256.Size]byte
}

type tokenKey struct {
	credential credentialID
	registry   string
	scheme     auth.Scheme
	scopes     string
}

type schemeKey struct {
	credential credentialID
	registry   string
}

type cachedToken struct {
	key     tokenKey
	token   string
	expires time.Time
}

type tokenFetch struct {
	done  chan struct{}
	token string
	err   error
	// Verifications waiting for this fetch (c.mu; tests).
	waiters int
}

type tokenCache struct {
	key []byte
	now func() time.Time
	max int

	mu       sync.Mutex
	order    *list.List // of *cachedToken, most recently used first
	tokens   map[tokenKey]*list.Element
	schemes  map[schemeKey]auth.Scheme
	inFlight map[tokenKey]*tokenFetch
}

func newTokenCache(max int, now func() time.Time) *tokenCache {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return &tokenCache{
		key:      key,
		now:      now,
		max:      max,
		order:    list.New(),
		tokens:   map[tokenKey]*list.Element{},
		schemes:  map[schemeKey]auth.Scheme{},
		inFlight: map[tokenKey]*tokenFetch{},
	}
}

// credentialID names the credentials for registry; the zero Credential is anonymous access.
func (c *tokenCache) credentialID(registry string, cred auth.Credential) credentialID {
	id := credentialID{registry: registry, username: cred.Username}
	secret := cred.Password
	if cred.Username == "" {
		secret = cred.RefreshToken
	}
	if cred != auth.EmptyCredential {
		mac := hmac.New(sha256.New, c.key)
		mac.Write([]byte(secret))
		copy(id.secret[:], mac.Sum(nil))
	}
	return id
}

// forCredential is the auth.Cache of one verification's client: the tokens of its credentials.
func (c *tokenCache) forCredential(id credentialID) auth.Cache {
	return credentialTokens{cache: c, id: id}
}

func (c *tokenCache) scheme(key schemeKey) (auth.Scheme, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	scheme, ok := c.schemes[key]
	return scheme, ok
}

func (c *tokenCache) token(key tokenKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	element := c.tokens[key]
	if element == nil {
		return "", false
	}
	entry := element.Value.(*cachedToken)
	if !c.now().Before(entry.expires) {
		c.order.Remove(element)
		delete(c.tokens, key)
		return "", false
	}
	c.order.MoveToFront(element)
	return entry.token, true
}

// set fetches a token for key, once for all the verifications that ask for it at the same time.
func (c *tokenCache) set(ctx context.Context, key tokenKey, fetch func(context.Context) (string, error)) (string, error) {
	for {
		c.mu.Lock()
		if running := c.inFlight[key]; running != nil {
			running.waiters++
			c.mu.Unlock()
			select {
			case <-running.done:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			// The verification that fetched was cancelled, not this one: fetch for this one.
			if (errors.Is(running.err, context.Canceled) || errors.Is(running.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue
			}
			return running.token, running.err
		}
		fetching := &tokenFetch{done: make(chan struct{})}
		c.inFlight[key] = fetching
		c.mu.Unlock()

		lifetime := &tokenLifetime{}
		started := c.now()
		token, err := fetch(context.WithValue(ctx, tokenLifetimeKey{}, lifetime))

		c.mu.Lock()
		delete(c.inFlight, key)
		if err == nil {
			c.store(key, token, started.Add(lifetime.usable()))
		}
		c.mu.Unlock()
		fetching.token, fetching.err = token, err
		close(fetching.done)
		return token, err
	}
}

// store keeps a token (c.mu held).
func (c *tokenCache) store(key tokenKey, token string, expires time.Time) {
	if len(c.schemes) >= c.max {
		clear(c.schemes)
	}
	c.schemes[schemeKey{credential: key.credential, registry: key.registry}] = key.scheme
	if element := c.tokens[key]; element != nil {
		c.order.Remove(element)
		delete(c.tokens, key)
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.tokens, oldest.Value.(*cachedToken).key)
	}
	c.tokens[key] = c.order.PushFront(&cachedToken{key: key, token: token, expires: expires})
}

// credentialTokens is oras-go's auth.Cache over the tokens of one set of credentials.
type credentialTokens struct {
	cache *tokenCache
	id    credentialID
}

func (t credentialTokens) GetScheme(_ context.Context, registry string) (auth.Scheme, error) {
	if scheme, ok := t.cache.scheme(schemeKey{credential: t.id, registry: registry}); ok {
		return scheme, nil
	}
	return auth.SchemeUnknown, errdef.ErrNotFound
}

func (t credentialTokens) GetToken(_ context.Context, registry string, scheme auth.Scheme, scopes string) (string, error) {
	if token, ok := t.cache.token(tokenKey{credential: t.id, registry: registry, scheme: scheme, scopes: scopes}); ok {
		return token, nil
	}
	return "", errdef.ErrNotFound
}

func (t credentialTokens) Set(ctx context.Context, registry string, scheme auth.Scheme, scopes string, fetch func(context.Context) (string, error)) (string, error) {
	return t.cache.set(ctx, tokenKey{credential: t.id, registry: registry, scheme: scheme, scopes: scopes}, fetch)
}

// tokenLifetime is the expires_in of the token response read during one fetch (tokenResponses).
type tokenLifetime struct {
	mu        sync.Mutex
	expiresIn time.Duration
}

type tokenLifetimeKey struct{}

// usable is how long the token may be used: its lifetime less a margin.
func (l *tokenLifetime) usable() time.Duration {
	l.mu.Lock()
	lifetime := l.expiresIn
	l.mu.Unlock()
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	return lifetime - min(lifetime/10, maxExpiryMargin)
}

// tokenResponses reads the expires_in of token responses (oras-go keeps only the token): a request made
// while a token is fetched for the cache carries a tokenLifetime in its context.
type tokenResponses struct {
	next http.RoundTripper
}

func (t tokenResponses) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	lifetime, ok := req.Context().Value(tokenLifetimeKey{}).(*tokenLifetime)
	if err != nil || !ok || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	var answer struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if json.Unmarshal(head, &answer) == nil && answer.ExpiresIn > 0 {
		lifetime.mu.Lock()
		lifetime.expiresIn = time.Duration(answer.ExpiresIn) * time.Second
		lifetime.mu.Unlock()
	}
	// The caller reads the whole answer, as if nothing had read it before.
	resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
