export { waitFor } from '../../tools/lib/wait-for';
export { sleep } from '../../tools/lib/http-probe';
