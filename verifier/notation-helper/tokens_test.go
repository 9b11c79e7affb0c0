package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// tokenServer issues opaque tokens to the users it knows and counts its answers by username.
type tokenServer struct {
	*httptest.Server
	mu        sync.Mutex
	issued    map[string]int
	valid     map[string]bool
	expiresIn int // 0: the answer has no expires_in
}

func newTokenServer(t *testing.T, users map[string]string) *tokenServer {
	ts := &tokenServer{issued: map[string]int{}, valid: map[string]bool{}, expiresIn: 300}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		username, password, _ := r.BasicAuth()
		if users[username] != password {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ts.mu.Lock()
		ts.issued[username]++
		token := fmt.Sprintf("%s-%d", username, ts.issued[username])
		ts.valid[token] = true
		answer := map[string]any{"token": token}
		if ts.expiresIn > 0 {
			answer["expires_in"] = ts.expiresIn
		}
		ts.mu.Unlock()
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) count(username string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued[username]
}

// newBearerRegistry answers 200 to a request with a token the token server issued, else a Bearer challenge.
func newBearerRegistry(t *testing.T, ts *tokenServer) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		ts.mu.Lock()
		ok := ts.valid[token]
		ts.mu.Unlock()
		if !ok {
			w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test",scope="repository:app:pull"`, ts.URL+"/token"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host
}

// get is one registry request of a verification with these credentials (a client of its own, as in authClient).
func get(t *testing.T, cache *tokenCache, host string, cred auth.Credential) {
	t.Helper()
	client := &auth.Client{
		Client:     &http.Client{Transport: tokenResponses{next: http.DefaultTransport}},
		Credential: auth.StaticCredential(host, cred),
		Cache:      cache.forCredential(cache.credentialID(host, cred)),
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/app/manifests/v1", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

var users = map[string]string{"alice": "alice-password", "bob": "bob-password"}

func TestTokensAreSharedBySameCredentialsOnly(t *testing.T) {
	ts := newTokenServer(t, users)
	host := newBearerRegistry(t, ts)
	cache := newTokenCache(maxTokens, time.Now)
	alice := auth.Credential{Username: "alice", Password: "alice-password"}
	get(t, cache, host, alice)
	get(t, cache, host, alice)
	if n := ts.count("alice"); n != 1 {
		t.Fatalf("alice: %d token requests for two clients with the same credentials, want 1", n)
	}
	get(t, cache, host, auth.Credential{Username: "bob", Password: "bob-password"})
	if n := ts.count("bob"); n != 1 {
		t.Fatalf("bob: %d token requests, want 1 (alice's token is not his)", n)
	}
	// The same username with another password is other credentials (here refused by the token server).
	client := &auth.Client{
		Client:     http.DefaultClient,
		Credential: auth.StaticCredential(host, auth.Credential{Username: "alice", Password: "wrong"}),
		Cache:      cache.forCredential(cache.credentialID(host, auth.Credential{Username: "alice", Password: "wrong"})),
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/app/manifests/v1", nil)
	if _, err := client.Do(req); err == nil {
		t.Fatal("a wrong password used the token of the right one")
	}
}

func TestCredentialIDs(t *testing.T) {
	cache := newTokenCache(maxTokens, time.Now)
	id := func(registry, username, password string) credentialID {
		return cache.credentialID(registry, auth.Credential{Username: username, Password: password})
	}
	base := id("r.example", "alice", "pw")
	if base != id("r.example", "alice", "pw") {
		t.Fatal("the same credentials have two ids")
	}
	for _, other := range []credentialID{id("r.example", "alice", "pw2"), id("r.example", "bob", "pw"), id("s.example", "alice", "pw"), cache.credentialID("r.example", auth.EmptyCredential)} {
		if other == base {
			t.Fatalf("%v shares alice's id", other)
		}
	}
	if cache.credentialID("r.example", auth.Credential{RefreshToken: "t1"}) == cache.credentialID("r.example", auth.Credential{RefreshToken: "t2"}) {
		t.Fatal("two identity tokens share an id")
	}
	if printed := fmt.Sprintf("%+v %#v", base, base); strings.Contains(printed, "pw") {
		t.Fatalf("the id shows the password: %s", printed)
	}
	if newTokenCache(maxTokens, time.Now).credentialID("r.example", auth.Credential{Username: "alice", Password: "pw"}) == base {
		t.Fatal("the secret's hash does not depend on the cache's own key")
	}
}

func TestTokensExpireByTheirExpiresIn(t *testing.T) {
	ts := newTokenServer(t, users)
	host := newBearerRegistry(t, ts)
	c := &clock{now: time.Unix(1_000_000, 0)}
	cache := newTokenCache(maxTokens, c.Now)
	alice := auth.Credential{Username: "alice", Password: "alice-password"}

	ts.expiresIn = 100
	get(t, cache, host, alice)
	c.now = c.now.Add(89 * time.Second) // within 100 s less the margin (10 s)
	get(t, cache, host, alice)
	if n := ts.count("alice"); n != 1 {
		t.Fatalf("%d token requests before expiry, want 1", n)
	}
	c.now = c.now.Add(2 * time.Second)
	get(t, cache, host, alice)
	if n := ts.count("alice"); n != 2 {
		t.Fatalf("%d token requests after expires_in, want 2", n)
	}

	// No expires_in: 60 s (less 6 s of margin).
	ts.expiresIn = 0
	c.now = c.now.Add(time.Hour)
	get(t, cache, host, alice)
	c.now = c.now.Add(53 * time.Second)
	get(t, cache, host, alice)
	if n := ts.count("alice"); n != 3 {
		t.Fatalf("%d token requests, want 3", n)
	}
	c.now = c.now.Add(2 * time.Second)
	get(t, cache, host, alice)
	if n := ts.count("alice"); n != 4 {
		t.Fatalf("%d token requests after the default lifetime, want 4", n)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	cache := newTokenCache(2, time.Now)
	fetch := func(token string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return token, nil }
	}
	ids := []credentialID{
		cache.credentialID("r", auth.Credential{Username: "a", Password: "1"}),
		cache.credentialID("r", auth.Credential{Username: "b", Password: "2"}),
		cache.credentialID("r", auth.Credential{Username: "c", Password: "3"}),
	}
	ctx := context.Background()
	for i, id := range ids[:2] {
		if _, err := cache.forCredential(id).Set(ctx, "r", auth.SchemeBearer, "s", fetch(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// a is used, so b is the least recently used when c comes.
	if token, err := cache.forCredential(ids[0]).GetToken(ctx, "r", auth.SchemeBearer, "s"); err != nil || token != "0" {
		t.Fatalf("a: %q %v", token, err)
	}
	if _, err := cache.forCredential(ids[2]).Set(ctx, "r", auth.SchemeBearer, "s", fetch("2")); err != nil {
		t.Fatal(err)
	}
	if cache.order.Len() != 2 || len(cache.tokens) != 2 {
		t.Fatalf("%d tokens kept, want 2", len(cache.tokens))
	}
	if _, err := cache.forCredential(ids[1]).GetToken(ctx, "r", auth.SchemeBearer, "s"); err == nil {
		t.Fatal("the least recently used token was kept")
	}
	for _, i := range []int{0, 2} {
		if _, err := cache.forCredential(ids[i]).GetToken(ctx, "r", auth.SchemeBearer, "s"); err != nil {
			t.Fatalf("token %d was dropped", i)
		}
	}
}

// waitForWaiters returns once n verifications wait for the fetch of key.
func waitForWaiters(t *testing.T, cache *tokenCache, key tokenKey, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		cache.mu.Lock()
		waiting := 0
		if running := cache.inFlight[key]; running != nil {
			waiting = running.waiters
		}
		cache.mu.Unlock()
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d verifications wait for the fetch, want %d", waiting, n)
		}
	}
}

func TestConcurrentVerificationsFetchOneToken(t *testing.T) {
	cache := newTokenCache(maxTokens, time.Now)
	id := cache.credentialID("r", auth.Credential{Username: "a", Password: "1"})
	release := make(chan struct{})
	var fetches int
	var mu sync.Mutex
	fetch := func(context.Context) (string, error) {
		mu.Lock()
		fetches++
		mu.Unlock()
		<-release
		return "shared", nil
	}
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], _ = cache.forCredential(id).Set(context.Background(), "r", auth.SchemeBearer, "s", fetch)
		}()
	}
	// The fetch answers once the seven others wait for it (one coming later would fetch anew: Set follows a 401).
	waitForWaiters(t, cache, tokenKey{credential: id, registry: "r", scheme: auth.SchemeBearer, scopes: "s"}, len(tokens)-1)
	close(release)
	wg.Wait()
	if fetches != 1 {
		t.Fatalf("%d fetches, want 1", fetches)
	}
	for _, token := range tokens {
		if token != "shared" {
			t.Fatalf("tokens %v", tokens)
		}
	}
}

func TestAWaiterFetchesWhenTheFetchingVerificationIsCancelled(t *testing.T) {
	cache := newTokenCache(maxTokens, time.Now)
	id := cache.credentialID("r", auth.Credential{Username: "a", Password: "1"})
	tokens := cache.forCredential(id)
	first, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		_, _ = tokens.Set(first, "r", auth.SchemeBearer, "s", func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		})
	}()
	<-started
	done := make(chan string)
	go func() {
		token, err := tokens.Set(context.Background(), "r", auth.SchemeBearer, "s", func(context.Context) (string, error) { return "mine", nil })
		if err != nil {
			token = err.Error()
		}
		done <- token
	}()
	waitForWaiters(t, cache, tokenKey{credential: id, registry: "r", scheme: auth.SchemeBearer, scopes: "s"}, 1)
	cancel()
	if token := <-done; token != "mine" {
		t.Fatalf("the waiter got %q", token)
	}
}
