package main

import (
	"context"

	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

const (
	pluginName = "com.amazonaws.signer.notation.plugin"
	// The version of the real plugin whose behaviour this stand-in follows. Signatures may carry a
	// critical io.cncf.notary.verificationPluginMinVersion that notation compares with it.
	pluginVersion = "1.0.350"
)

type awsSignerPlugin struct{}

func (p *awsSignerPlugin) GetMetadata(_ context.Context, _ *plugin.GetMetadataRequest) (*plugin.GetMetadataResponse, error) {
	return &plugin.GetMetadataResponse{
		Name:                      pluginName,
		Description:               "AWS Signer plugin for Notation (kyverno-notation-aws test stand-in)",
		Version:                   pluginVersion,
		URL:                       "https://docs.aws.amazon.com/signer",
		SupportedContractVersions: []string{plugin.ContractVersion},
		Capabilities: []plugin.Capability{
			plugin.CapabilityEnvelopeGenerator,
			plugin.CapabilityTrustedIdentityVerifier,
			plugin.CapabilityRevocationCheckVerifier,
		},
	}, nil
}

func (p *awsSignerPlugin) DescribeKey(_ context.Context, _ *plugin.DescribeKeyRequest) (*plugin.DescribeKeyResponse, error) {
	return nil, plugin.NewUnsupportedError("DescribeKey operation")
}

func (p *awsSignerPlugin) GenerateSignature(_ context.Context, _ *plugin.GenerateSignatureRequest) (*plugin.GenerateSignatureResponse, error) {
	return nil, plugin.NewUnsupportedError("GenerateSignature operation")
}

func (p *awsSignerPlugin) GenerateEnvelope(ctx context.Context, req *plugin.GenerateEnvelopeRequest) (*plugin.GenerateEnvelopeResponse, error) {
	if req == nil {
		return nil, plugin.NewValidationError("generateEnvelope request is nil")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	client, err := newSignerClient(ctx, req.PluginConfig)
	if err != nil {
		return nil, err
	}
	return generateEnvelope(ctx, client, req)
}

func (p *awsSignerPlugin) VerifySignature(ctx context.Context, req *plugin.VerifySignatureRequest) (*plugin.VerifySignatureResponse, error) {
	if req == nil {
		return nil, plugin.NewValidationError("verifySignature req is nil")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	client, err := newSignerClient(ctx, req.PluginConfig)
	if err != nil {
		return nil, err
	}
	return verifySignature(ctx, client, req)
}
