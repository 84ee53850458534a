// Validates every object of packaging/kubernetes/ against the Kubernetes API
// schemas of the kubernetes-models package, and checks kustomization.yaml
// lists exactly the manifests beside it.
//
// usage: node validate_manifests.mjs MODULES_DIR MANIFEST_DIR
// Prints one line per object; exits 1 naming every invalid object and field.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [modules, dir] = process.argv.slice(2);
const require = createRequire(join(modules, "node_modules", "noop.js"));
const YAML = require("yaml");
const problems = [];

// The model class of apiVersion/kind, e.g. kubernetes-models/apps/v1/Deployment.
async function model(apiVersion, kind) {
  const entry = join(modules, "node_modules", "kubernetes-models", apiVersion, kind + ".js");
  try {
    return (await import(pathToFileURL(entry)))[kind];
  } catch (e) {
    return null;
  }
}

async function validate(file, doc) {
  const what = `${file}: ${doc.kind} ${doc.metadata?.name ?? "(no name)"}`;
  const Model = await model(doc.apiVersion, doc.kind);
  if (!Model) {
    problems.push(`${what}: no Kubernetes schema for ${doc.apiVersion} ${doc.kind}`);
    return;
  }
  try {
    new Model(doc).validate();
    console.log(`valid: ${what}`);
  } catch (e) {
    problems.push(`${what}: ${e.message}`);
  }
}

const kustomization = YAML.parse(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
const manifests = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
const listed = [...(kustomization.resources ?? [])].sort();
if (JSON.stringify(listed) !== JSON.stringify(manifests)) {
  problems.push(`kustomization.yaml lists ${JSON.stringify(listed)}, the directory holds ${JSON.stringify(manifests)}`);
}
for (const file of manifests) {
  for (const doc of YAML.parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
    if (doc.errors.length) {
      problems.push(`${file}: ${doc.errors[0].message}`);
      continue;
    }
    await validate(file, doc.toJS());
  }
}

// The validator must be able to say no: a Deployment with a wrong type and
// one without its required selector.
const Deployment = await model("apps/v1", "Deployment");
for (const [why, spec] of [["replicas as a string", { replicas: "2", selector: {}, template: {} }],
                           ["no selector", { template: {} }]]) {
  try {
    new Deployment({ metadata: { name: "broken" }, spec }).validate();
    problems.push(`the schema check accepted a Deployment with ${why}`);
  } catch (e) {
    console.log(`refused as it should be: a Deployment with ${why}`);
  }
}

if (problems.length) {
  for (const p of problems) console.error(`invalid: ${p}`);
  process.exit(1);
}
