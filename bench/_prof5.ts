process.env.BENCH_MS = '3000';
const SIZES_OVERRIDE = true;
export { SIZES_OVERRIDE };
