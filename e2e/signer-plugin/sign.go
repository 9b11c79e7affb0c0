package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/signer"
	"github.com/aws/smithy-go"
	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

const mediaTypeJWS = "application/jose+json"

// generateEnvelope asks AWS Signer (SignPayload) to sign notation's payload with the signing profile
// named by the key id; Signer returns the complete JWS envelope, which goes back to notation as is and
// the job metadata becomes the signature manifest's annotations.
func generateEnvelope(ctx context.Context, api signerAPI, req *plugin.GenerateEnvelopeRequest) (*plugin.GenerateEnvelopeResponse, error) {
	if req.ExpiryDurationInSeconds != 0 {
		return nil, plugin.NewError(plugin.ErrorCodeValidation,
			"AWSSigner plugin doesn't support -e (--expiry) argument. Please use signing profile to set signature expiry.")
	}
	if req.ContractVersion != plugin.ContractVersion {
		return nil, plugin.NewUnsupportedContractVersionError(req.ContractVersion)
	}
	if req.SignatureEnvelopeType != mediaTypeJWS {
		return nil, plugin.NewUnsupportedError(fmt.Sprintf("envelope type %q", req.SignatureEnvelopeType))
	}
	profile, err := arn.Parse(req.KeyID)
	if err != nil {
		return nil, plugin.NewValidationErrorf("%s is not a valid AWS Signer signing profile or signing profile version ARN.", req.KeyID)
	}
	// The resource of a signing profile ARN is "/signing-profiles/<name>".
	parts := strings.Split(profile.Resource, "/")
	if len(parts) != 3 {
		return nil, plugin.NewValidationErrorf("%s is not a valid AWS Signer signing profile or signing profile version ARN.", profile)
	}
	out, err := api.SignPayload(ctx, &signer.SignPayloadInput{
		Payload:       req.Payload,
		PayloadFormat: &req.PayloadType,
		ProfileName:   &parts[2],
		ProfileOwner:  &profile.AccountID,
	})
	if err != nil {
		return nil, toPluginError(err)
	}
	return &plugin.GenerateEnvelopeResponse{
		SignatureEnvelope:     out.Signature,
		SignatureEnvelopeType: req.SignatureEnvelopeType,
		Annotations:           out.Metadata,
	}, nil
}

// toPluginError maps AWS API errors onto the plugin contract's error codes.
func toPluginError(err error) *plugin.Error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return plugin.NewGenericError(err.Error())
	}
	suffix := ""
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		suffix = fmt.Sprintf(" RequestID: %s.", respErr.ServiceRequestID())
	}
	msg := fmt.Sprintf("Failed to call AWSSigner. Error: %s.%s", apiErr.ErrorMessage(), suffix)
	switch apiErr.ErrorCode() {
	case "NotFoundException", "ResourceNotFoundException", "ValidationException", "BadRequestException":
		return plugin.NewValidationError(msg)
	case "ThrottlingException":
		return plugin.NewError(plugin.ErrorCodeThrottled, msg)
	case "AccessDeniedException":
		return plugin.NewError(plugin.ErrorCodeAccessDenied, msg)
	default:
		return plugin.NewGenericError(msg)
	}
}
