/** Downloads from the page: text or a blob as a file, and a chart's canvas as a PNG on a white background. */

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadText(text: string, name: string, type: string): void {
  downloadBlob(new Blob([text], { type }), name);
}

/** The chart's pixels over white (a chart canvas is transparent, which reads badly in most viewers). */
export function canvasPng(canvas: HTMLCanvasElement): Promise<Blob> {
  const out = Object.assign(document.createElement('canvas'), { width: canvas.width, height: canvas.height });
  const ctx = out.getContext('2d');
  if (!ctx) return Promise.reject(new Error('This browser cannot draw the chart to an image.'));
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error('The chart image came out empty.'))), 'image/png'),
  );
}
