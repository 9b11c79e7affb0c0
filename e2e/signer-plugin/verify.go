package main

import (
	"context"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/signer"
	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

// Extended signed attributes that AWS Signer puts in the protected header.
const (
	attrProfileVersion = "com.amazonaws.signer.signingProfileVersion"
	attrJob            = "com.amazonaws.signer.signingJob"
	attrProfileAlias   = "com.amazonaws.signer.signingProfileAlias"
	schemeAuthority    = "notary.x509.signingAuthority"
	// GetRevocationStatus's platform id for notation's OCI signatures.
	platformNotation = "Notation-OCI-SHA384-ECDSA"
)

// verifySignature answers the two capabilities AWS signatures delegate to the plugin: whether the
// signing profile is one of the trust policy's identities, and whether Signer reports the profile,
// the job or a certificate of the chain as revoked.
func verifySignature(ctx context.Context, api signerAPI, req *plugin.VerifySignatureRequest) (*plugin.VerifySignatureResponse, error) {
	if err := checkVerifyRequest(req); err != nil {
		return nil, err
	}
	resp := &plugin.VerifySignatureResponse{VerificationResults: map[plugin.Capability]*plugin.VerificationResult{}}
	attrs := req.Signature.CriticalAttributes.ExtendedAttributes
	wants := req.TrustPolicy.SignatureVerification

	if slices.Contains(wants, plugin.CapabilityTrustedIdentityVerifier) {
		profileVersion, err := stringAttribute(attrs, attrProfileVersion)
		if err != nil {
			return nil, err
		}
		alias, _ := stringAttribute(attrs, attrProfileAlias)
		resp.VerificationResults[plugin.CapabilityTrustedIdentityVerifier] =
			matchTrustedIdentity(profileVersion, alias, req.TrustPolicy.TrustedIdentities)
	}
	if slices.Contains(wants, plugin.CapabilityRevocationCheckVerifier) {
		result, err := checkRevocation(ctx, api, req)
		if err != nil {
			return nil, err
		}
		resp.VerificationResults[plugin.CapabilityRevocationCheckVerifier] = result
	}

	// Both Signer attributes are reported processed even when revocation was not asked for, or notation
	// would fail the signature for an unprocessed critical attribute.
	resp.ProcessedAttributes = []any{attrProfileVersion, attrJob}
	if _, ok := attrs[attrProfileAlias]; ok {
		resp.ProcessedAttributes = append(resp.ProcessedAttributes, attrProfileAlias)
	}
	return resp, nil
}

func checkVerifyRequest(req *plugin.VerifySignatureRequest) error {
	if req.ContractVersion != plugin.ContractVersion {
		return plugin.NewUnsupportedContractVersionError(req.ContractVersion)
	}
	if slices.Contains(req.TrustPolicy.TrustedIdentities, "*") {
		return plugin.NewValidationError("The AWSSigner plugin does not support wildcard identity in the trust policy.")
	}
	for _, c := range req.TrustPolicy.SignatureVerification {
		if c != plugin.CapabilityTrustedIdentityVerifier && c != plugin.CapabilityRevocationCheckVerifier {
			return plugin.NewValidationErrorf("'%s' is not a supported plugin capability", c)
		}
	}
	if req.Signature.CriticalAttributes.AuthenticSigningTime == nil || req.Signature.CriticalAttributes.AuthenticSigningTime.IsZero() {
		return plugin.NewValidationError("missing authenticSigningTime")
	}
	if !strings.EqualFold(req.Signature.CriticalAttributes.SigningScheme, schemeAuthority) {
		return plugin.NewUnsupportedError(fmt.Sprintf("'%s' signing scheme", req.Signature.CriticalAttributes.SigningScheme))
	}
	return nil
}

// matchTrustedIdentity accepts a signing-profile ARN (any version of the profile), a signing-profile
// version ARN (that version only), an aliased-profile ARN, or a profile alias ARN. Identities that are
// not Signer ARNs, such as x509.subject values, never match. Comparisons ignore case.
func matchTrustedIdentity(profileVersion, alias string, identities []string) *plugin.VerificationResult {
	for _, identity := range identities {
		parsed, err := arn.Parse(identity)
		if err != nil || parsed.Service != "signer" {
			continue
		}
		matched := false
		switch {
		case strings.HasPrefix(parsed.Resource, "/aliases/"):
			matched = alias != "" && strings.EqualFold(alias, identity)
		case strings.HasPrefix(parsed.Resource, "/aliased-signing-profiles/"):
			matched = strings.EqualFold(profileVersion, identity)
		case strings.HasPrefix(parsed.Resource, "/signing-profiles/"):
			switch len(strings.Split(parsed.Resource, "/")) {
			case 3: // profile ARN: the signature's profile version minus its version segment
				if i := strings.LastIndex(profileVersion, "/"); i >= 0 {
					matched = strings.EqualFold(profileVersion[:i], identity)
				}
			case 4: // profile version ARN
				matched = strings.EqualFold(profileVersion, identity)
			}
		}
		if matched {
			return &plugin.VerificationResult{Success: true, Reason: fmt.Sprintf("Signature publisher matched %q trusted identity.", identity)}
		}
	}
	return &plugin.VerificationResult{Success: false, Reason: "Signature publisher doesn't match any trusted identities."}
}

// checkRevocation calls GetRevocationStatus. A failed call is a failed check (not a plugin error), so
// notation enforces or logs it according to the trust policy's revocation action.
func checkRevocation(ctx context.Context, api signerAPI, req *plugin.VerifySignatureRequest) (*plugin.VerificationResult, error) {
	attrs := req.Signature.CriticalAttributes.ExtendedAttributes
	profileVersion, err := stringAttribute(attrs, attrProfileVersion)
	if err != nil {
		return nil, err
	}
	job, err := stringAttribute(attrs, attrJob)
	if err != nil {
		return nil, err
	}
	hashes, err := chainHashes(req.Signature.CertificateChain)
	if err != nil {
		return nil, plugin.NewValidationError("unable to parse certificates in certificate chain.")
	}
	platform := platformNotation
	out, err := api.GetRevocationStatus(ctx, &signer.GetRevocationStatusInput{
		CertificateHashes:  hashes,
		JobArn:             &job,
		PlatformId:         &platform,
		ProfileVersionArn:  &profileVersion,
		SignatureTimestamp: req.Signature.CriticalAttributes.AuthenticSigningTime,
	})
	if err != nil {
		return &plugin.VerificationResult{Success: false, Reason: fmt.Sprintf("GetRevocationStatus call failed with error: %+v", err)}, nil
	}
	if len(out.RevokedEntities) == 0 {
		return &plugin.VerificationResult{Success: true, Reason: "Signature is not revoked."}, nil
	}
	var resources []string
	certRevoked := false
	for _, entity := range out.RevokedEntities {
		if strings.HasPrefix(entity, "arn") {
			resources = append(resources, entity)
		} else {
			certRevoked = true
		}
	}
	reason := ""
	if len(resources) > 0 {
		reason = fmt.Sprintf("Resource(s) %s have been revoked.", strings.Join(resources, ", "))
	}
	if certRevoked {
		reason += "Certificate(s) have been revoked."
	}
	return &plugin.VerificationResult{Success: false, Reason: reason}, nil
}

// chainHashes identifies each certificate for Signer as hex(SHA-384(TBSCertificate)) followed by the
// same hash of its issuer (the last certificate, the root, is its own issuer).
func chainHashes(chain [][]byte) ([]string, error) {
	own := make([]string, len(chain))
	for i, der := range chain {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		sum := sha512.Sum384(cert.RawTBSCertificate)
		own[i] = hex.EncodeToString(sum[:])
	}
	out := make([]string, len(own))
	for i := range own {
		issuer := own[len(own)-1]
		if i+1 < len(own) {
			issuer = own[i+1]
		}
		out[i] = own[i] + issuer
	}
	return out, nil
}

func stringAttribute(attrs map[string]any, key string) (string, error) {
	if s, ok := attrs[key].(string); ok {
		return s, nil
	}
	return "", plugin.NewValidationErrorf("unable to parse attribute %q.", key)
}
