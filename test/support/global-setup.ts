export { setup as default } from './temp-guard';
