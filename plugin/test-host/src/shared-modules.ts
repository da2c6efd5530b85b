/**
 * The modules Grafana shares with plugins (public/app/features/plugins/loader/sharedDependencies.ts
 * in Grafana), taken from the real packages in node_modules. The plugin's webpack externals
 * (plugin/.config/bundler/externals.ts) decide which of these a built module.js asks for.
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUi from '@grafana/ui';
import lodash from 'lodash';
import moment from 'moment';
import React from 'react';
import ReactDOM from 'react-dom';
import jsxRuntime from 'react/jsx-runtime';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

/**
 * ES namespaces are marked `__esModule` so webpack's interop (`__webpack_require__.n`) treats them
 * as ES modules; CommonJS packages (react, lodash) are given as their `module.exports`, as
 * Grafana's SystemJS does.
 */
function esm(ns: object): object {
  return Object.freeze({ __esModule: true, ...ns });
}

export const SHARED_MODULES: Readonly<Record<string, unknown>> = {
  '@emotion/css': esm(emotionCss),
  '@emotion/react': esm(emotionReact),
  '@grafana/data': esm(grafanaData),
  '@grafana/runtime': esm(grafanaRuntime),
  '@grafana/ui': esm(grafanaUi),
  lodash,
  moment,
  react: React,
  'react-dom': ReactDOM,
  'react/jsx-runtime': jsxRuntime,
  rxjs: esm(rxjs),
  'rxjs/operators': esm(rxjsOperators),
};
