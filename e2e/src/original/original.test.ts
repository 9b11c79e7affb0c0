import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { registryOrigin } from '../harness/oci.js';
import { installedContainer, originalSource } from './original.js';

describe('running the original', () => {
  const source = originalSource();
  const present = existsSync(join(source, 'configs', 'install.yaml'));

  it(
    'takes the container arguments and environment from configs/install.yaml',
    { skip: present ? false : `the original's source is absent (${source}); set KNA_ORIGINAL_SRC` },
    () => {
      const container = installedContainer(source);
      assert.ok(container.args.includes('--cacheEnabled'), `args: ${container.args.join(' ')}`);
      const byName = new Map(container.env.map((e) => [e.name, e]));
      assert.equal(byName.get('POD_NAMESPACE')?.fieldPath, 'metadata.namespace');
      assert.equal(byName.get('POD_NAME')?.fieldPath, 'metadata.name');
      assert.equal(byName.get('SERVICE_NAME')?.value, 'svc');
      assert.ok(byName.has('NOTATION_DIR'));
    },
  );

  it('reaches the TLS registry over HTTPS and the harness registries over plain HTTP', () => {
    assert.equal(registryOrigin('127.0.0.2:5000'), 'https://127.0.0.2:5000');
    assert.equal(registryOrigin('localhost:5000'), 'http://localhost:5000');
    assert.equal(registryOrigin('127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(registryOrigin('registry.example.com'), 'https://registry.example.com');
  });
});
