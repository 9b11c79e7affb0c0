package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/signer"
	"github.com/aws/smithy-go/middleware"
	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

// Plugin configuration keys, as documented for the AWS Signer plugin.
const (
	configAWSProfile     = "aws-profile"
	configAWSRegion      = "aws-region"
	configSignerEndpoint = "aws-signer-endpoint-url"
)

// signerAPI is the part of the AWS Signer API the plugin calls.
type signerAPI interface {
	SignPayload(context.Context, *signer.SignPayloadInput, ...func(*signer.Options)) (*signer.SignPayloadOutput, error)
	GetRevocationStatus(context.Context, *signer.GetRevocationStatusInput, ...func(*signer.Options)) (*signer.GetRevocationStatusOutput, error)
}

// newSignerClient loads the SDK's default configuration (environment, shared files, web identity,
// container and instance credentials) with the plugin-config overrides. The endpoint override goes
// through an endpoint resolver that leaves the hostname mutable, exactly like the real plugin, so the
// SDK still prefixes GetRevocationStatus requests with "data-".
func newSignerClient(ctx context.Context, pluginConfig map[string]string) (signerAPI, error) {
	var opts []func(*config.LoadOptions) error
	if endpoint := pluginConfig[configSignerEndpoint]; endpoint != "" {
		resolver := aws.EndpointResolverWithOptionsFunc(func(service, region string, _ ...any) (aws.Endpoint, error) {
			if service == signer.ServiceID {
				return aws.Endpoint{PartitionID: "aws", URL: endpoint, SigningRegion: region}, nil
			}
			return aws.Endpoint{}, &aws.EndpointNotFoundError{}
		})
		opts = append(opts, config.WithEndpointResolverWithOptions(resolver))
	}
	if region, ok := pluginConfig[configAWSRegion]; ok {
		opts = append(opts, config.WithRegion(region))
	}
	if profile, ok := pluginConfig[configAWSProfile]; ok {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	opts = append(opts, config.WithAPIOptions([]func(*middleware.Stack) error{
		awsmiddleware.AddUserAgentKeyValue("aws-signer-caller", "NotationPlugin/"+pluginVersion),
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, plugin.NewGenericError(err.Error())
	}
	return signer.NewFromConfig(cfg), nil
}
