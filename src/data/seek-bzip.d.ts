/** Minimal typings for the CommonJS `seek-bzip` package (v2), which ships none. */
declare module 'seek-bzip' {
  interface Bunzip {
    /**
     * Decodes a whole bzip2 buffer. `output` is an expected size or a buffer
     * of that size; `multistream` continues past the end of the first stream
     * (concatenated files, as `pbzip2` writes).
     */
    decode(input: Uint8Array, output?: number | Uint8Array, multistream?: boolean): Buffer;
  }
  const Bunzip: Bunzip;
  export default Bunzip;
}
