//! Image uploads: the format is read from the bytes (PNG, JPEG or WebP only), decoding is
//! bounded (dimensions and memory, against pixel floods), EXIF orientation is applied, and the
//! image is re-encoded — which drops EXIF/GPS metadata and anything appended to the file —
//! with a JPEG thumbnail beside it. A few hundred compressed kilobytes can decode to hundreds of
//! megabytes, so `ImageBudget` admits a decode only once its memory fits a process-wide budget,
//! read from the header before any pixel is decoded.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use std::sync::Arc;
use std::time::Duration;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

const MAX_SIDE: u32 = 8000;
const THUMB_SIDE: u32 = 480;
/// The decoded pixels, the re-encoder's and the thumbnail's working copies: what one decode
/// holds at its peak, as a multiple of the decoded size (measured, rounded up).
const PEAK_PER_DECODED_BYTE: u64 = 3;
const MIB: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("Upload a PNG, JPEG or WebP image.")]
    UnsupportedFormat,
    #[error("This image could not be read.")]
    Unreadable,
    #[error("This image is too large (at most {MAX_SIDE}×{MAX_SIDE} pixels, and fewer pixels than that).")]
    TooManyPixels,
    /// Every byte of the budget is taken by other uploads, and none was freed in time.
    #[error("Too many images are being processed. Please try again in a moment.")]
    Busy,
}

#[derive(Debug)]
pub struct ProcessedImage {
    /// `jpg`, `png` or `webp`.
    pub extension: &'static str,
    pub image: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// Image work under a memory budget: at most `budget` bytes of decoding at once, the rest
/// waiting up to `wait` for room.
#[derive(Debug)]
pub struct ImageBudget {
    mib: Arc<Semaphore>,
    total_mib: u32,
    wait: Duration,
}

impl ImageBudget {
    pub fn new(budget_mib: u32, wait: Duration) -> Self {
        let total_mib = budget_mib.max(1);
        Self { mib: Arc::new(Semaphore::new(total_mib as usize)), total_mib, wait }
    }

    /// Checks, decodes and re-encodes `bytes` on the blocking pool, once its peak memory fits.
    pub async fn process(&self, bytes: Vec<u8>) -> Result<ProcessedImage, ImageError> {
        let (format, decoded_bytes) = inspect(&bytes)?;
        let needed = decoded_bytes.saturating_mul(PEAK_PER_DECODED_BYTE).div_ceil(MIB).max(1);
        let Some(needed) = u32::try_from(needed).ok().filter(|n| *n <= self.total_mib) else {
            return Err(ImageError::TooManyPixels);
        };
        let permit = tokio::time::timeout(self.wait, self.mib.clone().acquire_many_owned(needed))
            .await
            .map_err(|_| ImageError::Busy)?
            .map_err(|_| ImageError::Busy)?;
        let max_alloc = u64::from(needed) * MIB;
        // The permit goes with the work: a request abandoned mid-decode still holds the memory
        // until the decode ends.
        tokio::task::spawn_blocking(move || {
            let processed = decode_and_encode(&bytes, format, max_alloc);
            drop(permit);
            processed
        })
        .await
        .map_err(|_| ImageError::Unreadable)?
    }
}

/// Checks and re-encodes an image now, with no budget: for the seed command and tests.
pub fn process_image(bytes: &[u8]) -> Result<ProcessedImage, ImageError> {
    let (format, decoded_bytes) = inspect(bytes)?;
    decode_and_encode(bytes, format, decoded_bytes.saturating_mul(PEAK_PER_DECODED_BYTE))
}

fn reader(bytes: &[u8], format: ImageFormat, max_alloc: u64) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    reader
}

/// The format and the decoded size in bytes, from the header alone.
fn inspect(bytes: &[u8]) -> Result<(ImageFormat, u64), ImageError> {
    let format = image::guess_format(bytes).map_err(|_| ImageError::UnsupportedFormat)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) {
        return Err(ImageError::UnsupportedFormat);
    }
    let decoder = reader(bytes, format, u64::MAX).into_decoder().map_err(classify)?;
    Ok((format, decoder.total_bytes()))
}

fn decode_and_encode(bytes: &[u8], format: ImageFormat, max_alloc: u64) -> Result<ProcessedImage, ImageError> {
    let extension = match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpg",
        _ => "webp",
    };
    let mut decoder = reader(bytes, format, max_alloc).into_decoder().map_err(classify)?;
    let orientation = decoder.orientation().map_err(classify)?;
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(classify)?;
    decoded.apply_orientation(orientation);

    let mut image = Vec::new();
    match (format, decoded.as_rgb8()) {
        (ImageFormat::Jpeg, Some(rgb)) => JpegEncoder::new_with_quality(&mut image, 88).encode_image(rgb),
        (ImageFormat::Jpeg, None) => JpegEncoder::new_with_quality(&mut image, 88).encode_image(&decoded.to_rgb8()),
        _ => decoded.write_to(&mut Cursor::new(&mut image), format),
    }
    .map_err(classify)?;
    let mut thumbnail = Vec::new();
    // Shrink only: a small image is its own thumbnail size.
    let small = if decoded.width() > THUMB_SIDE || decoded.height() > THUMB_SIDE {
        decoded.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8()
    } else {
        decoded.to_rgb8()
    };
    JpegEncoder::new_with_quality(&mut thumbnail, 80).encode_image(&small).map_err(classify)?;
    Ok(ProcessedImage { extension, image, thumbnail })
}

fn classify(err: image::ImageError) -> ImageError {
    match err {
        image::ImageError::Limits(_) => ImageError::TooManyPixels,
        _ => ImageError::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(width, height);
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn a_png_is_reencoded_with_a_jpeg_thumbnail() {
        let processed = process_image(&png(1200, 600)).unwrap();
        assert_eq!(processed.extension, "png");
        assert_eq!(image::guess_format(&processed.thumbnail).unwrap(), ImageFormat::Jpeg);
        let thumb = image::load_from_memory(&processed.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (480, 240));
    }

    #[test]
    fn small_images_are_not_enlarged_for_the_thumbnail() {
        let thumb = image::load_from_memory(&process_image(&png(64, 48)).unwrap().thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (64, 48));
    }

    #[test]
    fn other_formats_and_garbage_are_refused() {
        assert_eq!(process_image(b"GIF89a....").unwrap_err(), ImageError::UnsupportedFormat);
        assert_eq!(
            process_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap_err(),
            ImageError::UnsupportedFormat
        );
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert_eq!(process_image(&truncated).unwrap_err(), ImageError::Unreadable);
    }

    #[tokio::test]
    async fn an_image_whose_decoded_size_exceeds_the_whole_budget_is_refused_before_decoding() {
        // 4000×4000 RGB decodes to 46 MiB: three times that is over a 64 MiB budget.
        let budget = ImageBudget::new(64, Duration::from_millis(100));
        assert_eq!(budget.process(png(4000, 4000)).await.unwrap_err(), ImageError::TooManyPixels);
        assert!(budget.process(png(1000, 1000)).await.is_ok());
    }

    #[tokio::test]
    async fn when_the_budget_is_taken_a_decode_waits_then_gives_up_as_busy() {
        let budget = ImageBudget::new(16, Duration::from_millis(50));
        let held = budget.mib.acquire_many(16).await.unwrap();
        assert_eq!(budget.process(png(100, 100)).await.unwrap_err(), ImageError::Busy);
        drop(held);
        assert!(budget.process(png(100, 100)).await.is_ok());
    }

    #[test]
    fn bytes_appended_after_the_image_are_dropped() {
        let mut polyglot = png(20, 20);
        polyglot.extend_from_slice(b"<script>alert(1)</script>");
        let processed = process_image(&polyglot).unwrap();
        assert!(!processed.image.windows(8).any(|w| w == b"<script>"));
    }
}
