// The paginated node list: pages of `limit` with the server's continue token until none is left, a 410
// on an expired continue token starts the list over, and every Node arrives cut down to the fields
// flanneld reads (no status, images or managedFields); the fake pages as the real API server does.
import { expect } from 'chai';
import { HttpKubeApi } from '../../../subnet-lease/kube/client.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { seedNode } from '../../helpers/fake-apiserver-nodes.js';

const never = new AbortController().signal;
const TOKEN = 't';

type Obj = Record<string, unknown>;

async function rawList(api: FakeApiServer, query: string): Promise<{ status: number; body: Obj }> {
  const res = await fetch(`${api.url}/api/v1/nodes?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Obj };
}

describe('kube node list with limit/continue (fake API server)', function () {
  this.timeout(30_000);
  let api: FakeApiServer | undefined;
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  it('the fake pages in name order with continue and remainingItemCount, at the first page resourceVersion', async () => {
    api = await FakeApiServer.start({ token: TOKEN });
    api.seedNodes([3, 1, 4, 0, 2].map(seedNode));
    const first = await rawList(api, 'limit=2');
    const meta = first.body.metadata as Obj;
    expect((first.body.items as Obj[]).map((n) => (n.metadata as Obj).name)).to.deep.equal(['seed-00000', 'seed-00001']);
    expect(meta.remainingItemCount).to.equal(3);
    api.createNode(seedNode(9));
    const second = await rawList(api, `limit=2&continue=${encodeURIComponent(String(meta.continue))}`);
    expect((second.body.metadata as Obj).resourceVersion).to.equal(meta.resourceVersion);
    expect((second.body.metadata as Obj).remainingItemCount).to.equal(2);
    api.compact();
    const expired = await rawList(api, `limit=2&continue=${encodeURIComponent(String((second.body.metadata as Obj).continue))}`);
    expect(expired.status).to.equal(410);
    expect(expired.body).to.include({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  it('listNodes follows the continue tokens and returns every node, slim', async () => {
    api = await FakeApiServer.start({ token: TOKEN });
    api.seedNodes(Array.from({ length: 7 }, (_, i) => seedNode(i)));
    const client = new HttpKubeApi({ server: api.url, insecure: false, auth: { kind: 'token', token: TOKEN } }, { pageSize: 3, annotationPrefix: 'flannel.alpha.coreos.com/' });
    const list = await client.listNodes(never);
    expect(list.items).to.have.length(7);
    expect(api.requests.map((r) => [r.query.limit, r.query.continue !== undefined])).to.deep.equal([['3', false], ['3', true], ['3', true]]);
    const n = list.items[4] as Obj;
    expect(n).to.deep.equal({
      metadata: {
        name: 'seed-00004',
        resourceVersion: (api.node('seed-00004')!.metadata as Obj).resourceVersion,
        creationTimestamp: (api.node('seed-00004')!.metadata as Obj).creationTimestamp,
        annotations: {
          'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"0e:00:00:04:11:22"}',
          'flannel.alpha.coreos.com/backend-type': 'vxlan',
          'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
          'flannel.alpha.coreos.com/public-ip': '100.64.0.5',
        },
      },
      spec: { podCIDR: '10.1.4.0/24', podCIDRs: ['10.1.4.0/24'] },
    });
  });

  it('an expired continue token (410) starts the list over from the first page', async () => {
    let compacted = false;
    api = await FakeApiServer.start({
      token: TOKEN,
      onRequest: (rec) => {
        if (rec.query.continue && !compacted) {
          compacted = true;
          api!.createNode(seedNode(5));
          api!.compact();
        }
      },
    });
    api.seedNodes(Array.from({ length: 5 }, (_, i) => seedNode(i)));
    const client = new HttpKubeApi({ server: api.url, insecure: false, auth: { kind: 'token', token: TOKEN } }, { pageSize: 2 });
    const list = await client.listNodes(never);
    expect(list.items.map((n) => (n as { metadata: { name: string } }).metadata.name)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `seed-0000${i}`));
    expect(api.requests.map((r) => [r.status, r.query.continue !== undefined])).to.deep.equal([
      [200, false], [410, true], [200, false], [200, true], [200, true],
    ]);
  });
});
