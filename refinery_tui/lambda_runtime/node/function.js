// This function: the manifest it was deployed with, the block it serves, and the folder its files are in (twin of
// function.py).
'use strict';

const fs = require('fs');
const path = require('path');
const engine = require('../../runtime/node/engine');

const ROOT = process.env.LAMBDA_TASK_ROOT || path.dirname(__dirname);
const DATA = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifest.json'), 'utf8'));
const MANIFEST = new engine.Manifest(DATA);
const SELF = DATA.self;

module.exports = { ROOT, DATA, MANIFEST, SELF };
