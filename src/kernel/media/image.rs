//! Image uploads: the format is read from the bytes (PNG, JPEG or WebP only), decoding is
//! bounded (dimensions and memory, against pixel floods), EXIF orientation is applied, and the
//! image is re-encoded — which drops EXIF/GPS metadata and anything appended to the file —
//! with a JPEG thumbnail beside it. CPU-heavy: call it on the blocking pool.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

const MAX_SIDE: u32 = 8000;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
const THUMB_SIDE: u32 = 480;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("Upload a PNG, JPEG or WebP image.")]
    UnsupportedFormat,
    #[error("This image could not be read.")]
    Unreadable,
    #[error("This image is too large (at most {MAX_SIDE}×{MAX_SIDE} pixels).")]
    TooManyPixels,
}

#[derive(Debug)]
pub struct ProcessedImage {
    /// `jpg`, `png` or `webp`.
    pub extension: &'static str,
    pub image: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

pub fn process_image(bytes: &[u8]) -> Result<ProcessedImage, ImageError> {
    let format = image::guess_format(bytes).map_err(|_| ImageError::UnsupportedFormat)?;
    let extension = match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpg",
        ImageFormat::WebP => "webp",
        _ => return Err(ImageError::UnsupportedFormat),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let orientation = decoder.orientation().map_err(classify)?;
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(classify)?;
    decoded.apply_orientation(orientation);

    let mut image = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            JpegEncoder::new_with_quality(&mut image, 88).encode_image(&decoded.to_rgb8()).map_err(classify)?;
        }
        _ => decoded.write_to(&mut Cursor::new(&mut image), format).map_err(classify)?,
    }
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

    #[test]
    fn bytes_appended_after_the_image_are_dropped() {
        let mut polyglot = png(20, 20);
        polyglot.extend_from_slice(b"<script>alert(1)</script>");
        let processed = process_image(&polyglot).unwrap();
        assert!(!processed.image.windows(8).any(|w| w == b"<script>"));
    }
}
