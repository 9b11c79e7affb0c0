// Command notation-com.amazonaws.signer.notation.plugin is this project's stand-in for the AWS Signer
// notation plugin (github.com/aws/aws-signer-notation-plugin v1.0.350), built only when the module proxy
// does not serve the real module. It speaks the Notary Project plugin contract through the official
// plugin framework and talks to AWS Signer through the official AWS SDK client, so everything the tests
// observe through notation (capabilities, requests to Signer, the SDK's "data-" host prefix on
// GetRevocationStatus, error codes and reason texts) follows the real plugin's documented behaviour
// (shared/docs/reference/notation-and-aws-signer.md §4). See README.md.
package main

import (
	"context"
	"os"

	"github.com/notaryproject/notation-plugin-framework-go/cli"
)

func main() {
	ctx := context.Background()
	c, err := cli.New(&awsSignerPlugin{})
	if err != nil {
		os.Stderr.WriteString(`{"errorCode":"ERROR","errorMessage":"` + err.Error() + `"}`)
		os.Exit(1)
	}
	c.Execute(ctx, os.Args)
}
