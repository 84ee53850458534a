// The npm client `proxmox-api`, unmodified, against pvesim: the same
// essential calls as proxmoxer_test.py. Run by npm_proxmox_api_test.py:
//   node proxmox_api_client.mjs MODULE_DIR HOST PORT PASSWORD TOKEN_SECRET
// Prints "ok: ..." per check; exits non-zero on the first failure.
import { createRequire } from 'node:module';

const [moduleDir, host, port, password, secret] = process.argv.slice(2);
const require = createRequire(moduleDir + '/');
const proxmoxApi = require('proxmox-api').default;

function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  console.log('ok: ' + what);
}

async function waitTask(api, node, upid) {
  for (let i = 0; i < 600; i++) {
    const st = await api.nodes.$(node).tasks.$(upid).status.$get();
    if (st.status === 'stopped') return st;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('task did not finish: ' + upid);
}

async function expectError(promise, text, what) {
  try {
    await promise;
  } catch (e) {
    check(String(e.message).includes(text), what + ': ' + e.message.slice(0, 200));
    return;
  }
  throw new Error('FAILED: ' + what + ': no error');
}

const common = { host, port: Number(port), schema: 'http' };
const pw = proxmoxApi({ ...common, username: 'root@pam', password });
const tok = proxmoxApi({ ...common, tokenID: 'root@pam!pvekit', tokenSecret: secret });

for (const [name, api] of [['password', pw], ['token', tok]]) {
  const res = await api.cluster.resources.$get();
  check(res.filter((r) => r.type === 'qemu' || r.type === 'lxc').length === 60, name + ': /cluster/resources');
  check((await api.version.$get()).release === '9.1', name + ': /version');
  check((await api.nodes.$get()).length === 5, name + ': /nodes');
}

const guests = await pw.cluster.resources.$get({ type: 'vm' });
const vm = guests.find((r) => r.type === 'qemu' && r.status === 'running' && r.node !== 'pve5' && !r.hastate);
const list = await tok.nodes.$(vm.node).qemu.$get();
check(list.some((g) => g.vmid === vm.vmid), 'qemu list of ' + vm.node);
const config = await tok.nodes.$(vm.node).qemu.$(vm.vmid).config.$get();
check(/^[0-9a-f]{40}$/.test(config.digest), 'config with a SHA-1 digest');
const status = await tok.nodes.$(vm.node).qemu.$(vm.vmid).status.current.$get();
check(status.status === 'running', 'status/current');
const rows = await tok.nodes.$(vm.node).qemu.$(vm.vmid).rrddata.$get({ timeframe: 'day', cf: 'AVERAGE' });
check(rows.length === 1440, 'rrddata day: ' + rows.length + ' rows');

let upid = await pw.nodes.$(vm.node).qemu.$(vm.vmid).migrate.$post({ target: 'pve5', online: true });
check(upid.includes(':qmigrate:' + vm.vmid + ':'), 'qemu online migration returned a UPID');
let st = await waitTask(pw, vm.node, upid);
check(st.exitstatus === 'OK', 'qemu migration task OK');

const ct = guests.find((r) => r.type === 'lxc' && r.status === 'running' && r.node !== 'pve5' && !r.hastate);
upid = await tok.nodes.$(ct.node).lxc.$(ct.vmid).migrate.$post({ target: 'pve5', restart: true });
st = await waitTask(tok, ct.node, upid);
check(st.exitstatus === 'OK' && st.tokenid === 'pvekit', 'lxc restart migration by token, task OK');
const moved = (await tok.cluster.resources.$get({ type: 'vm' })).filter((r) => r.vmid === ct.vmid || r.vmid === vm.vmid);
check(moved.every((r) => r.node === 'pve5'), 'both guests on pve5');

const vmid = Number(await tok.cluster.nextid.$get());
upid = await tok.nodes.$('pve5').lxc.$post({
  vmid, ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', hostname: 'npm', memory: 256,
  rootfs: 'local-lvm:2', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', unprivileged: true,
});
st = await waitTask(tok, 'pve5', upid);
check(st.exitstatus === 'OK', 'CT ' + vmid + ' created');

// Errors with PVE's message visible to the client.
await expectError(tok.nodes.$('pve5').qemu.$(99999).config.$get(), 'does not exist', 'unknown guest');
await expectError(tok.nodes.$(vm.node).qemu.$(vm.vmid).migrate.$post({}), 'target', 'missing parameter');
await expectError(tok.nodes.$('pve5').lxc.$(ct.vmid).migrate.$post({ target: 'pve5' }), 'target is local node',
  'migration to the own node');

// A privsep token without privileges: 403 with PVE's message.
await pw.access.users.$post({ userid: 'npm@pve', password: 'secret' });
const made = await pw.access.users.$('npm@pve').token.$('t').$post({ privsep: true });
const weak = proxmoxApi({ ...common, tokenID: 'npm@pve!t', tokenSecret: made.value });
check((await weak.cluster.resources.$get({ type: 'vm' })).length === 0, 'a token without VM.Audit sees no guests');
await expectError(weak.nodes.$('pve5').qemu.$(vm.vmid).migrate.$post({ target: 'pve1', online: true }),
  `403 Permission check failed (/vms/${vm.vmid}, VM.Migrate)`, 'migration without VM.Migrate');
